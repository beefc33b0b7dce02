#include "exporter/program/verify_program.h"

#include <vector>

#include "common/error.h"
#include "schema/limits.h"

namespace pte {
namespace {

// Elements of `shape`, or -1 when a dimension is negative or the product exceeds `limit`.
int64_t bounded_numel(const Shape& shape, int64_t limit) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > limit / d)) return -1;
    n *= d;
  }
  return n;
}

void check_bound(const std::string& where, const Shape& shape, int64_t limit) {
  if (bounded_numel(shape, limit) < 0)
    throw Error(where + " " + shape_to_string(shape) + " exceeds the " + std::to_string(limit) +
                "-element bound of a .pte tensor (FORMAT.md §1); lower --max_context_len or --input_len");
}

void check_graph(const Program& program, const Graph& g, const std::string& where, const std::string& after) {
  auto internal = [&](const std::string& what) {
    throw Error("internal: after " + after + ": " + where + ": " + what);
  };
  const int n = static_cast<int>(g.values.size());
  std::vector<int> producers(g.values.size(), 0);
  for (int i : g.inputs) {
    if (i < 0 || i >= n) internal("graph input " + std::to_string(i) + " is not a value");
    ++producers[static_cast<size_t>(i)];
  }
  for (const GraphValue& v : g.values) {
    if (v.is_weight()) {
      check_bound(where + " constant '" + v.name + "'", v.shape, kMaxConstantElements);
      if (!program.weights.count(v.weight)) internal("constant '" + v.name + "' has no weight recipe");
    } else {
      check_bound(where + " value '" + v.name + "'", v.shape, kMaxActivationElements);
    }
  }
  for (const GraphNode& node : g.nodes) {
    for (int i : node.inputs)
      if (i < 0 || i >= n) internal("node " + node.op + " reads value " + std::to_string(i) + ", which does not exist");
    for (int o : node.outputs) {
      if (o < 0 || o >= n) internal("node " + node.op + " writes value " + std::to_string(o) + ", which does not exist");
      if (++producers[static_cast<size_t>(o)] > 1) internal("value '" + g.values[static_cast<size_t>(o)].name + "' is produced twice");
    }
  }
  for (int o : g.outputs)
    if (o < 0 || o >= n) internal("graph output " + std::to_string(o) + " is not a value");
}

}  // namespace

void verify_program(const Program& program, const std::string& after) {
  for (const Method& m : program.methods) {
    const std::string where = "method '" + m.name + "'";
    for (const IOSpec& s : m.inputs) check_bound(where + " input '" + s.name + "'", s.shape, kMaxActivationElements);
    for (const IOSpec& s : m.outputs) check_bound(where + " output '" + s.name + "'", s.shape, kMaxActivationElements);
    if (m.graph.inputs.size() != m.inputs.size() || m.graph.outputs.size() != m.outputs.size())
      throw Error("internal: after " + after + ": " + where + ": graph I/O does not match the method's I/O specs");
    check_graph(program, m.graph, where, after);
    for (const Piece& p : m.pieces) check_graph(program, p.graph, where + " piece '" + p.name + "'", after);
  }
}

}  // namespace pte
