#include "passes/quantize_weights.h"

#include <algorithm>

#include "common/error.h"

namespace pte {
namespace {

// A new constant holding `weight` quantized with `step`; the float constant is left alone.
int quantized_constant(Program& program, Graph& g, const GraphValue& weight, QuantizeStep step) {
  WeightRecipe recipe = program.weights.at(weight.weight);
  const DType model_dtype = recipe.dtype;
  recipe.steps.push_back(step);
  recipe.dtype = step.bits == 4 ? DType::I4 : DType::I8;
  GraphValue v;
  v.weight = v.name = program.add_weight(recipe);
  v.dtype = recipe.dtype;
  v.shape = weight.shape;
  v.scales = recipe.scales_key();
  v.group_size = step.group;
  v.scales_dtype = model_dtype;
  return g.add_constant(v);
}

std::string run_quantize_linears(Program& program, const ExportOptions& options) {
  const int64_t group = options.linear_quantize == LinearQuantization::B4W ? 32 : 0;
  int64_t quantized = 0;
  std::vector<std::string> left_float;
  for (Method& m : program.methods) {
    Graph& g = m.graph;
    for (GraphNode& node : g.nodes) {
      if (node.op != "linear") continue;
      const GraphValue weight = g.values[node.inputs[1]];
      if (weight.is_quantized()) continue;
      if (!program.weights.at(weight.weight).checkpoint.empty()) continue;  // LoRA A/B stay in the model dtype
      if (group && weight.shape[1] % group != 0) {
        const std::string name = program.weights.at(weight.weight).source;
        if (std::find(left_float.begin(), left_float.end(), name) == left_float.end()) left_float.push_back(name);
        continue;
      }
      node.inputs[1] = quantized_constant(program, g, weight, QuantizeStep{4, group});
      ++quantized;
    }
  }
  if (!left_float.empty()) {
    std::string names;
    for (const std::string& n : left_float) names += (names.empty() ? "" : ", ") + n;
    program.log.push_back("b4w: " + std::to_string(left_float.size()) +
                          " linear(s) whose input size is not a multiple of 32 stay in float: " + names);
  }
  return std::to_string(quantized) + " linears -> int4 " + linear_quantize_name(options.linear_quantize) +
         (left_float.empty() ? "" : ", " + std::to_string(left_float.size()) + " left in float");
}

std::string run_quantize_embedding(Program& program, const ExportOptions& options) {
  const EmbeddingQuantization q = *options.embedding_quantize;
  int64_t quantized = 0;
  for (Method& m : program.methods) {
    Graph& g = m.graph;
    for (GraphNode& node : g.nodes) {
      if (node.op != "embedding") continue;
      const GraphValue table = g.values[node.inputs[0]];
      const int64_t dim = table.shape[1];
      if (q.group && dim % q.group != 0)
        throw Error("-E " + embedding_quantize_name(q) + ": group " + std::to_string(q.group) +
                    " does not divide the embedding dim " + std::to_string(dim) + " of '" +
                    program.weights.at(table.weight).source + "'");
      node.inputs[0] = quantized_constant(program, g, table, QuantizeStep{q.bits, q.group});
      ++quantized;
    }
  }
  return std::to_string(quantized) + " embedding table(s) -> int" + std::to_string(q.bits) +
         (q.group ? ", groups of " + std::to_string(q.group) : ", one scale per row");
}

}  // namespace

const Pass kQuantizeLinearsPass = {"quantize_linears", run_quantize_linears};
const Pass kQuantizeEmbeddingPass = {"quantize_embedding", run_quantize_embedding};

}  // namespace pte
