#include "runtime-check/method_executor.h"

#include <map>

#include "common/error.h"
#include "runtime-check/kernels.h"
#include "runtime-load/op_signatures.h"

namespace pte::runtime {
namespace {

std::vector<IoSpec> read_specs(const flatbuffers::Vector<flatbuffers::Offset<fb::IOSpec>>& specs) {
  std::vector<IoSpec> out;
  for (const fb::IOSpec* s : specs)
    out.push_back({std::string(view(s->name())), to_dtype(s->dtype()), to_shape(s->shape()), s->role(), s->layer()});
  return out;
}

std::string type_string(DType dtype, const Shape& shape) {
  return std::string(dtype_name(dtype)) + " " + shape_string(shape);
}

void run_node(const GraphNode& node, std::span<const Tensor* const> in, Tensor& out) {
  const OpAttributes& a = node.attributes;
  switch (node.op) {
    case Op::Embedding: return embedding(*in[0], *in[1], out);
    case Op::RmsNorm: return rms_norm(*in[0], *in[1], a.eps, out);
    case Op::Linear: return linear(*in[0], *in[1], out);
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
    : program_(program), method_(&program.method(method_name)), name_(method_name) {
  inputs_ = read_specs(*method_->inputs());
  outputs_ = read_specs(*method_->outputs());
  prepare_pieces();
}

void MethodExecutor::prepare_pieces() {
  struct Declared { DType dtype; Shape shape; };
  std::map<std::string, Declared> declared;
  for (const IoSpec& s : inputs_) declared[s.name] = {s.dtype, s.shape};
  const std::string method = "method '" + name_ + "'";

  for (flatbuffers::uoffset_t i = 0; i < method_->pieces()->size(); ++i) {
    const fb::Piece& p = *method_->pieces()->Get(i);
    std::string where = method + " piece " + std::to_string(i);
    if (view(p.backend()) != kGraphBackend)
      program_.fail(where + " has backend '" + std::string(view(p.backend())) + "', expected " + kGraphBackend);
    PreparedPiece piece{{}, {}, PieceGraph(program_, view(p.payload()), where)};
    const PieceGraph& g = piece.graph;
    for (const auto* s : *p.inputs()) piece.inputs.emplace_back(view(s));
    for (const auto* s : *p.outputs()) piece.outputs.emplace_back(view(s));
    if (piece.inputs.size() != g.inputs().size() || piece.outputs.size() != g.outputs().size())
      program_.fail(where + " lists " + std::to_string(piece.inputs.size()) + " inputs and " +
                    std::to_string(piece.outputs.size()) + " outputs but its graph has " +
                    std::to_string(g.inputs().size()) + " and " + std::to_string(g.outputs().size()));
    for (size_t k = 0; k < piece.inputs.size(); ++k) {
      const GraphValue& v = g.values()[g.inputs()[k]];
      auto it = declared.find(piece.inputs[k]);
      if (it == declared.end())
        program_.fail(where + " input '" + piece.inputs[k] + "' is neither a method input nor an earlier piece's output");
      if (it->second.dtype != v.dtype || it->second.shape != v.shape)
        program_.fail(where + " input '" + piece.inputs[k] + "' is " + type_string(it->second.dtype, it->second.shape) +
                      " but the graph expects " + type_string(v.dtype, v.shape));
    }
    for (size_t k = 0; k < piece.outputs.size(); ++k) {
      const GraphValue& v = g.values()[g.outputs()[k]];
      if (!declared.emplace(piece.outputs[k], Declared{v.dtype, v.shape}).second)
        program_.fail(where + " output '" + piece.outputs[k] + "' is already defined");
    }
    pieces_.push_back(std::move(piece));
  }
  for (const IoSpec& s : outputs_) {
    auto it = declared.find(s.name);
    if (it == declared.end()) program_.fail(method + " output '" + s.name + "' is never produced");
    if (it->second.dtype != s.dtype || it->second.shape != s.shape)
      program_.fail(method + " output '" + s.name + "' is declared " + type_string(s.dtype, s.shape) +
                    " but produced as " + type_string(it->second.dtype, it->second.shape));
  }
}

std::vector<std::shared_ptr<const Tensor>> MethodExecutor::run(std::span<const Tensor* const> inputs) const {
  const std::string method = "method '" + name_ + "'";
  if (inputs.size() != inputs_.size())
    program_.fail(method + " takes " + std::to_string(inputs_.size()) + " inputs, given " +
                  std::to_string(inputs.size()));
  Environment env;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const IoSpec& spec = inputs_[i];
    const Tensor& t = *inputs[i];
    size_t stored = is_float(t.dtype) ? t.floats.size() : t.ints.size();
    if (t.dtype != spec.dtype || t.shape != spec.shape || t.is_constant() ||
        static_cast<int64_t>(stored) != t.numel())
      program_.fail(method + " input " + std::to_string(i) + " '" + spec.name + "' expects " +
                    type_string(spec.dtype, spec.shape) + ", given " + type_string(t.dtype, t.shape) +
                    " holding " + std::to_string(stored) + " values");
    env[spec.name] = std::shared_ptr<const Tensor>(std::shared_ptr<const Tensor>(), &t);  // not owned
  }
  for (size_t i = 0; i < pieces_.size(); ++i) run_piece(i, env);
  std::vector<std::shared_ptr<const Tensor>> out;
  for (const IoSpec& s : outputs_) out.push_back(env.at(s.name));
  return out;
}

void MethodExecutor::run_piece(size_t index, Environment& env) const {
  const PreparedPiece& piece = pieces_[index];
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
    try {
      run_node(node, in, *out);
    } catch (const Error& e) {
      program_.fail("method '" + name_ + "' piece " + std::to_string(index) + " node " + std::to_string(n) +
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
