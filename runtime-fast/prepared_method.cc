#include "runtime-fast/prepared_method.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>

#include "common/error.h"
#include "runtime-fast/op_kernels.h"
#include "runtime-load/float_rows.h"
#include "runtime-load/op_signatures.h"

namespace pte::fast {
namespace {

using runtime::GraphNode;
using runtime::GraphValue;
using runtime::PieceGraph;
using runtime::Tensor;

constexpr size_t kAlign = 16;  // floats: arena values start on 64-byte boundaries

size_t aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

bool is_token_rows(const Shape& shape, int64_t tokens) {
  return shape.size() == 3 && shape[0] == 1 && shape[1] == tokens;
}

}  // namespace

int64_t RunContext::active_rows(const Slot& v) const {
  if (is_token_rows(v.shape, tokens)) return rows;
  const int64_t last = v.shape.empty() ? 1 : v.shape.back();
  return last > 0 ? runtime::numel(v.shape) / last : 0;
}

size_t RunContext::active_elements(const Slot& v) const {
  if (is_token_rows(v.shape, tokens)) return static_cast<size_t>(rows * v.shape[2]);
  return static_cast<size_t>(runtime::numel(v.shape));
}

void RunContext::round(DType dtype, float* values, size_t count) const {
  if (dtype == DType::F16) simd.round_f16(values, count);
  else if (dtype == DType::BF16) runtime::round_in_place(dtype, std::span<float>(values, count));
}

int PreparedMethod::add_constant_slot(const GraphValue& v) {
  // Kernels read weights in place, in stored order: a reordered view (pte verify's in-memory
  // reference) is for the reference executor.
  if (v.constant->row_order)
    throw Error("constant '" + v.name + "' is a view in another row order, which only the reference executor reads");
  Slot s;
  s.kind = Slot::Kind::Constant;
  s.dtype = v.dtype;
  s.shape = v.shape;
  s.constant = &*v.constant;
  slots_.push_back(std::move(s));
  return static_cast<int>(slots_.size() - 1);
}

PreparedMethod::PreparedMethod(const runtime::MethodGraph& graph, ThreadPool& pool, CpuVariant variant)
    : graph_(graph), pool_(pool), variant_(variant), simd_(simd_kernels(variant)) {
  if (!cpu_supports(variant))
    throw Error(std::string("this CPU cannot run the ") + variant_name(variant) + " kernels");
  const auto& inputs = graph.inputs();
  for (const runtime::IoSpec& s : inputs)
    if (s.role == fb::IORole::Tokens && s.shape.size() == 2) tokens_ = s.shape[1];

  // Method-level names -> slots; inputs first.
  std::map<std::string, int> named;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Slot s;
    s.kind = Slot::Kind::Input;
    s.dtype = inputs[i].dtype;
    s.shape = inputs[i].shape;
    s.input = i;
    slots_.push_back(std::move(s));
    named[inputs[i].name] = static_cast<int>(i);
  }
  std::vector<std::pair<int, int>> lifetime(slots_.size(), {-1, -1});  // first write, last read (step indices)
  std::vector<bool> needs_floats;
  size_t max_row = 0, max_visible = 0, max_linear_input = 0, max_linear_k = 0;

  const auto& pieces = graph.pieces();
  for (size_t p = 0; p < pieces.size(); ++p) {
    const PieceGraph& g = pieces[p].graph;
    std::vector<int> local(g.values().size(), -1);
    for (size_t k = 0; k < g.inputs().size(); ++k) local[g.inputs()[k]] = named.at(pieces[p].inputs[k]);
    for (size_t n = 0; n < g.nodes().size(); ++n) {
      const GraphNode& node = g.nodes()[n];
      Step step;
      step.kernel = kernel_for(node.op);
      step.node = &node;
      step.piece = p;
      step.node_index = n;
      const int index = static_cast<int>(steps_.size());
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        const int v = node.inputs[i];
        if (local[v] < 0) {  // only constants are unbound here: the graph is validated
          local[v] = add_constant_slot(g.values()[v]);
          lifetime.push_back({-1, -1});
        }
        const int id = local[v];
        if (needs_floats.size() < slots_.size()) needs_floats.resize(slots_.size(), false);
        if (!reads_raw_constant(node.op, i)) needs_floats[id] = true;
        lifetime[id].second = std::max(lifetime[id].second, index);
        step.in.push_back(id);
        const Shape& shape = g.values()[v].shape;
        if (!shape.empty()) max_row = std::max(max_row, static_cast<size_t>(shape.back()));
      }
      const GraphValue& result = g.values()[node.output];
      Slot out;
      out.dtype = result.dtype;
      out.shape = result.shape;
      slots_.push_back(std::move(out));
      lifetime.push_back({index, index});
      local[node.output] = step.out = static_cast<int>(slots_.size() - 1);
      if (node.op == runtime::Op::Linear) {
        max_linear_k = std::max(max_linear_k, static_cast<size_t>(g.values()[node.inputs[1]].shape.back()));
        const Shape& x = g.values()[node.inputs[0]].shape;
        const size_t x_rows = static_cast<size_t>(runtime::numel(x) / std::max<int64_t>(1, x.back()));
        max_linear_input = std::max(max_linear_input, static_cast<size_t>(runtime::numel(x)) + x_rows * kLinearRowPad);
      }
      if (node.op == runtime::Op::Attention) {
        const Shape& mask = g.values()[node.inputs[5]].shape;
        max_visible = std::max(max_visible, static_cast<size_t>(mask[1] * mask[2] + mask[1]));
        max_row = std::max(max_row, static_cast<size_t>(mask[2]));
      }
      steps_.push_back(std::move(step));
    }
    for (size_t k = 0; k < g.outputs().size(); ++k) {
      int v = g.outputs()[k];
      if (local[v] < 0) {  // a constant graph output
        local[v] = add_constant_slot(g.values()[v]);
        lifetime.push_back({-1, -1});
      }
      named[pieces[p].outputs[k]] = local[v];
    }
  }
  needs_floats.resize(slots_.size(), false);
  for (const runtime::IoSpec& s : graph.outputs()) {
    const int id = named.at(s.name);
    output_slots_.push_back(id);
    lifetime[id].second = INT_MAX;
    needs_floats[id] = true;
  }

  // Constants read as numbers: fp32 in place when aligned, others decoded once (small: norm
  // weights, LoRA scales); integer constants as int64.
  for (size_t id = 0; id < slots_.size(); ++id) {
    Slot& s = slots_[id];
    if (s.kind != Slot::Kind::Constant) continue;
    const Tensor& t = *s.constant;
    const size_t n = static_cast<size_t>(runtime::numel(t.shape));
    if (t.dtype == DType::I32 || t.dtype == DType::I64) {
      std::vector<int64_t> values(n);
      for (size_t i = 0; i < n; ++i) {
        if (t.dtype == DType::I32) {
          int32_t v;
          std::memcpy(&v, t.bytes + 4 * i, 4);
          values[i] = v;
        } else {
          std::memcpy(&values[i], t.bytes + 8 * i, 8);
        }
      }
      decoded_ints_.push_back(std::move(values));
      s.ints = decoded_ints_.back().data();
      continue;
    }
    if (!needs_floats[id]) continue;
    std::vector<float> scratch;
    const float* values = runtime::read_floats(t, 0, n, scratch);
    if (values != scratch.data()) {
      s.floats = values;  // aligned fp32 in the mapping
    } else {
      decoded_.push_back(std::move(scratch));
      s.floats = decoded_.back().data();
    }
  }

  plan_arena(lifetime);
  floats_.assign(slots_.size(), nullptr);
  ints_.assign(slots_.size(), nullptr);
  for (size_t id = 0; id < slots_.size(); ++id) {
    const Slot& s = slots_[id];
    if (s.kind == Slot::Kind::Arena) floats_[id] = arena_.data() + s.offset;
    if (s.kind == Slot::Kind::Constant) {
      floats_[id] = s.floats;
      ints_[id] = s.ints;
    }
  }
  const size_t panel = kLinearPanelRows * (max_linear_k + kLinearRowPad);  // linears with several rows
  scratch_.assign(pool.size(), std::vector<float>(std::max<size_t>({max_row, panel, 1})));
  visible_.assign(max_visible, 0);
  split_x_.assign(max_linear_input, 0.0f);
  output_views_.resize(output_slots_.size());
}

void PreparedMethod::plan_arena(const std::vector<std::pair<int, int>>& lifetime) {
  // First fit in order of definition: a value may reuse the floats of any value whose last read
  // comes before its first write.
  struct Placed { size_t offset, size; int first, last; };
  std::vector<Placed> placed;
  size_t total = 0;
  for (size_t id = 0; id < slots_.size(); ++id) {
    Slot& s = slots_[id];
    if (s.kind != Slot::Kind::Arena) continue;
    const size_t size = aligned(static_cast<size_t>(runtime::numel(s.shape)));
    const auto [first, last] = lifetime[id];
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Placed& q : placed)
      if (!(q.last < first || last < q.first)) busy.push_back({q.offset, q.offset + q.size});
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (auto [b, e] : busy) {
      if (offset + size <= b) break;
      offset = std::max(offset, e);
    }
    s.offset = offset;
    placed.push_back({offset, size, first, last});
    total = std::max(total, offset + size);
  }
  arena_.assign(total, 0.0f);
}

std::span<const std::span<const float>> PreparedMethod::run(std::span<const Tensor* const> inputs, int64_t rows) {
  graph_.check_inputs(inputs);
  if (rows < 1 || rows > tokens_)
    throw Error("method '" + graph_.name() + "': " + std::to_string(rows) + " real rows of " + std::to_string(tokens_));
  for (size_t i = 0; i < inputs.size(); ++i) {
    floats_[i] = inputs[i]->floats.data();
    ints_[i] = inputs[i]->ints.data();
  }
  RunContext context{slots_, floats_, ints_, arena_.data(), tokens_, rows, pool_, simd_, scratch_, visible_, split_x_};
  for (const Step& step : steps_) {
    try {
      step.kernel(step, context);
    } catch (const Error& e) {
      graph_.program().fail("method '" + graph_.name() + "' piece " + std::to_string(step.piece) + " node " +
                            std::to_string(step.node_index) + " (" + runtime::op_name(step.node->op) + "): " + e.what());
    }
  }
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    const int id = output_slots_[i];
    output_views_[i] = std::span<const float>(floats_[static_cast<size_t>(id)],
                                              static_cast<size_t>(runtime::numel(slots_[static_cast<size_t>(id)].shape)));
  }
  return output_views_;
}

}  // namespace pte::fast
