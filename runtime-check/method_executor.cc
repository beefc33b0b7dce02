#include "runtime-check/method_executor.h"

#include "common/error.h"
#include "runtime-check/kernels.h"
#include "runtime-load/op_signatures.h"

namespace pte::runtime {
namespace {

void run_node(const GraphNode& node, std::span<const Tensor* const> in, Tensor& out) {
  const OpAttributes& a = node.attributes;
  switch (node.op) {
    case Op::Embedding: return embedding(*in[0], *in[1], out);
    case Op::RmsNorm: return rms_norm(*in[0], *in[1], a.eps, out);
    case Op::Linear: return linear(*in[0], *in[1], in.size() == 3 ? in[2] : nullptr, out);
    case Op::HeadRmsNorm: return head_rms_norm(*in[0], *in[1], a.n_heads, a.head_dim, a.eps, out);
    case Op::Concat: return concat(in, a.axis, out);
    case Op::Rope: return rope(*in[0], *in[1], *in[2], a.n_heads, a.head_dim, out);
    case Op::ToHeads: return to_heads(*in[0], a.n_heads, a.head_dim, out);
    case Op::Attention:
      return attention({*in[0], *in[1], *in[2], *in[3], *in[4], *in[5]}, a.n_heads, a.n_kv_heads,
                       a.head_dim, out);
    case Op::Add: return add(*in[0], *in[1], out, a.alpha);
    case Op::Mul: return mul(*in[0], *in[1], out);
    case Op::Silu: return silu(*in[0], out);
    case Op::SelectRow: return select_row(*in[0], *in[1], out);
  }
}

}  // namespace

MethodExecutor::MethodExecutor(const LoadedProgram& program, std::string_view method_name)
    : program_(program), graph_(program, method_name) {}

std::vector<std::shared_ptr<const Tensor>> MethodExecutor::run(std::span<const Tensor* const> inputs) const {
  graph_.check_inputs(inputs);
  Environment env;
  for (size_t i = 0; i < inputs.size(); ++i)
    env[graph_.inputs()[i].name] = std::shared_ptr<const Tensor>(std::shared_ptr<const Tensor>(), inputs[i]);  // not owned
  for (size_t i = 0; i < pieces().size(); ++i) run_piece(i, env);
  std::vector<std::shared_ptr<const Tensor>> out;
  for (const IoSpec& s : outputs()) out.push_back(env.at(s.name));
  return out;
}

void MethodExecutor::run_piece(size_t index, Environment& env) const {
  const PreparedPiece& piece = pieces()[index];
  const PieceGraph& g = piece.graph;
  const auto& values = g.values();
  std::vector<const Tensor*> slots(values.size(), nullptr);
  std::vector<std::shared_ptr<const Tensor>> held(values.size());
  std::vector<bool> is_output(values.size(), false);
  for (int o : g.outputs()) is_output[o] = true;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].constant) slots[i] = &*values[i].constant;
  for (size_t k = 0; k < piece.inputs.size(); ++k) {
    held[g.inputs()[k]] = env.at(piece.inputs[k]);
    slots[g.inputs()[k]] = held[g.inputs()[k]].get();
  }

  std::vector<const Tensor*> in;
  for (size_t n = 0; n < g.nodes().size(); ++n) {
    const GraphNode& node = g.nodes()[n];
    const GraphValue& result = values[node.output];
    auto out = std::make_shared<Tensor>(Tensor::zeros(result.dtype, result.shape));
    in.clear();
    for (int i : node.inputs) in.push_back(slots[i]);
    if (observer_ && node.op == Op::Linear) observer_->linear_input(values[node.inputs[1]], (static_cast<int64_t>(index) << 32) | node.inputs[0], *in[0]);
    try {
      run_node(node, in, *out);
    } catch (const Error& e) {
      program_.fail("method '" + name() + "' piece " + std::to_string(index) + " node " + std::to_string(n) +
                    " (" + op_name(node.op) + "): " + e.what());
    }
    held[node.output] = std::move(out);
    slots[node.output] = held[node.output].get();
    for (int i : node.inputs)
      if (g.last_use()[i] == static_cast<int>(n) && !is_output[i] && held[i]) {
        held[i].reset();
        slots[i] = nullptr;
      }
  }
  for (size_t k = 0; k < piece.outputs.size(); ++k) env[piece.outputs[k]] = held[g.outputs()[k]];
}

}  // namespace pte::runtime
