#include "passes/split_linears.h"

#include <algorithm>

#include "common/error.h"

namespace pte {
namespace {

// Rewrites one method graph; returns {linears before, linears after}.
std::pair<int64_t, int64_t> split_method(Program& program, Graph& g, const ExportOptions& options) {
  std::vector<GraphNode> nodes;
  int64_t before = 0, after = 0;
  for (GraphNode& node : g.nodes) {
    if (node.op != "linear") {
      nodes.push_back(std::move(node));
      continue;
    }
    ++before;
    const GraphValue weight = g.values[node.inputs[1]];
    const int64_t rows = weight.shape[0], cols = weight.shape[1];
    const int64_t num = split_count(rows, options);
    if (num == 1) {
      ++after;
      nodes.push_back(std::move(node));
      continue;
    }
    const WeightRecipe& recipe = program.weights.at(weight.weight);
    if (rows % num != 0)
      throw Error("split_linears: linear '" + recipe.source + "' has " + std::to_string(rows) +
                  " outputs, which do not split evenly into " + std::to_string(num) +
                  " chunks (--target_split_size " + std::to_string(options.target_split_size) +
                  ", --max_splits " + std::to_string(options.max_splits) + ")");
    const int64_t chunk = rows / num;
    const GraphValue out = g.values[node.outputs[0]];
    std::vector<int> parts;
    for (int64_t c = 0; c < num; ++c) {
      WeightRecipe part = recipe;
      part.steps.push_back(SliceRowsStep{c * chunk, (c + 1) * chunk});
      part.shape = {chunk, cols};
      int w = g.add_weight(program.add_weight(std::move(part)), weight.dtype, {chunk, cols});
      Shape part_shape = out.shape;
      part_shape.back() = chunk;
      int v = g.add_value(out.name + ".chunk" + std::to_string(c), out.dtype, part_shape);
      std::vector<int> inputs = {node.inputs[0], w};
      if (node.inputs.size() == 3) {  // the bias splits with its rows
        const GraphValue bias = g.values[node.inputs[2]];
        WeightRecipe bias_part = program.weights.at(bias.weight);
        bias_part.steps.push_back(SliceRowsStep{c * chunk, (c + 1) * chunk});
        bias_part.shape = {chunk};
        inputs.push_back(g.add_weight(program.add_weight(std::move(bias_part)), bias.dtype, {chunk}));
      }
      nodes.push_back(GraphNode{"linear", std::move(inputs), {v}, {}, node.stage});
      parts.push_back(v);
      ++after;
    }
    nodes.push_back(GraphNode{"concat", parts, node.outputs, {{"axis", int64_t{-1}}}, node.stage});
  }
  g.nodes = std::move(nodes);
  return {before, after};
}

std::string run_split_linears(Program& program, const ExportOptions& options) {
  int64_t before = 0, after = 0;
  for (Method& m : program.methods) {
    auto [b, a] = split_method(program, m.graph, options);
    before += b;
    after += a;
  }
  return std::to_string(before) + " linears -> " + std::to_string(after) + " chunks";
}

}  // namespace

int64_t split_count(int64_t rows, const ExportOptions& options) {
  return std::min(std::max<int64_t>(rows / options.target_split_size, 1), options.max_splits);
}

const Pass kSplitLinearsPass = {"split_linears", run_split_linears};

}  // namespace pte
