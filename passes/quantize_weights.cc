#include "passes/quantize_weights.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "exporter/model/linear_module.h"
#include "schema/metadata_keys.h"

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

QuantizeStep step_of(LinearQuantization mode, const ExportOptions& options) {
  QuantizeStep step{mode == LinearQuantization::C8W ? 8 : 4, mode == LinearQuantization::B4W ? 32 : 0};
  step.search = options.quant_search != QuantSearch::None;
  return step;
}

// Bits per weight of a [rows, cols] linear in `mode`, scales (in the model dtype) included.
double bits_per_weight(LinearQuantization mode, int64_t cols, DType model_dtype) {
  const double scale_bits = model_dtype == DType::F16 ? 16 : 32;
  switch (mode) {
    case LinearQuantization::None: return scale_bits;
    case LinearQuantization::C4W: return 4 + scale_bits / static_cast<double>(cols);
    case LinearQuantization::B4W: return 4 + scale_bits / 32;
    case LinearQuantization::C8W: return 8 + scale_bits / static_cast<double>(cols);
  }
  return scale_bits;
}

struct PlannedLinear {
  std::string module;  // Meta module name
  LinearQuantization mode;
  double bits_per_weight;
};

// Each quantizable linear's mode: the first --quant pattern its module name matches, else
// --linear_quantize; b4w falls back to float when the input size is not a multiple of 32.
std::vector<PlannedLinear> plan_linears(const Program& program, const ExportOptions& options,
                                        std::vector<std::string>& left_float) {
  std::vector<PlannedLinear> plan;
  std::vector<int64_t> matches(options.quant_overrides.size(), 0);
  for (const Method& m : program.methods)
    for (const GraphNode& node : m.graph.nodes) {
      if (node.op != "linear") continue;
      const GraphValue& weight = m.graph.values[node.inputs[1]];
      const WeightRecipe& recipe = program.weights.at(weight.weight);
      if (weight.is_quantized() || !recipe.checkpoint.empty()) continue;  // LoRA A/B stay in the model dtype
      const std::string module = meta_linear_name(recipe.source);
      if (std::any_of(plan.begin(), plan.end(), [&](const PlannedLinear& p) { return p.module == module; })) continue;
      LinearQuantization mode = options.linear_quantize;
      for (size_t i = 0; i < options.quant_overrides.size(); ++i)
        if (glob_match(options.quant_overrides[i].pattern, module)) {
          mode = options.quant_overrides[i].mode;
          ++matches[i];
          break;
        }
      const int64_t cols = weight.shape[1];
      if (mode == LinearQuantization::B4W && cols % 32 != 0) {
        left_float.push_back(recipe.source);
        mode = LinearQuantization::None;
      }
      plan.push_back({module, mode, bits_per_weight(mode, cols, recipe.dtype)});
    }
  for (size_t i = 0; i < matches.size(); ++i) {
    // A later pattern shadowed by earlier ones still counts as matching when it names a linear.
    bool names_one = matches[i] > 0;
    for (const PlannedLinear& p : plan) names_one = names_one || glob_match(options.quant_overrides[i].pattern, p.module);
    if (!names_one)
      throw Error("--quant " + options.quant_overrides[i].pattern + "=" +
                  linear_quantize_name(options.quant_overrides[i].mode) +
                  ": the pattern matches no linear (names are like output, layers.0.attention.wq, "
                  "layers.0.feed_forward.w2)");
  }
  return plan;
}

std::string plan_json(const std::vector<PlannedLinear>& plan, const ExportOptions& options) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const PlannedLinear& p : plan)
    j[p.module] = {{"mode", linear_quantize_name(p.mode)},
                   {"bits_per_weight", p.bits_per_weight},
                   {"search", p.mode == LinearQuantization::None ? "none" : quant_search_name(options.quant_search)}};
  return j.dump();
}

std::string run_quantize_linears(Program& program, const ExportOptions& options) {
  std::vector<std::string> left_float;
  const std::vector<PlannedLinear> plan = plan_linears(program, options, left_float);
  int64_t quantized = 0;
  for (Method& m : program.methods) {
    Graph& g = m.graph;
    for (GraphNode& node : g.nodes) {
      if (node.op != "linear") continue;
      const GraphValue weight = g.values[node.inputs[1]];
      if (weight.is_quantized()) continue;
      const WeightRecipe& recipe = program.weights.at(weight.weight);
      if (!recipe.checkpoint.empty()) continue;
      const std::string module = meta_linear_name(recipe.source);
      const auto planned = std::find_if(plan.begin(), plan.end(), [&](const PlannedLinear& p) { return p.module == module; });
      if (planned->mode == LinearQuantization::None) continue;
      QuantizeStep step = step_of(planned->mode, options);
      if (options.quant_search == QuantSearch::Gptq) {
        auto it = program.hessians.find(recipe.source);
        if (it == program.hessians.end())
          throw Error("internal: --calibration collected nothing for linear '" + recipe.source + "'");
        step.hessian = it->second;
      } else if (step.search) {
        auto it = program.importances.find(recipe.source);
        if (it != program.importances.end()) step.importance = it->second;
      }
      node.inputs[1] = quantized_constant(program, g, weight, step);
      ++quantized;
    }
  }
  if (!left_float.empty()) {
    std::string names;
    for (const std::string& n : left_float) names += (names.empty() ? "" : ", ") + n;
    program.log.push_back("b4w: " + std::to_string(left_float.size()) +
                          " linear(s) whose input size is not a multiple of 32 stay in float: " + names);
  }
  const bool planned = !options.quant_overrides.empty() || options.quant_search != QuantSearch::None;
  if (planned) program.metadata[meta::kQuantizationPlan] = TextValue{plan_json(plan, options)};
  std::string summary = options.quant_overrides.empty()
                            ? std::to_string(quantized) + " linears -> int4 " + linear_quantize_name(options.linear_quantize)
                            : std::to_string(quantized) + " linears quantized per the plan";
  if (!left_float.empty()) summary += ", " + std::to_string(left_float.size()) + " left in float";
  if (options.quant_search != QuantSearch::None)
    summary += std::string(", scales searched (") + quant_search_name(options.quant_search) +
               (program.importances.empty() && program.hessians.empty() ? ")" : ", calibration-weighted)");
  if (planned) {
    char bits[32];
    for (const PlannedLinear& p : plan) {
      std::snprintf(bits, sizeof bits, "%.4g", p.bits_per_weight);
      summary += "\n  " + p.module + " -> " + linear_quantize_name(p.mode) + ", " + bits + " bits/weight";
    }
  }
  return summary;
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
      QuantizeStep step{q.bits, q.group};
      step.search = options.quant_search != QuantSearch::None;  // gptq: embeddings get the scale search
      node.inputs[0] = quantized_constant(program, g, table, step);
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
