#include "passes/split_linears.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "exporter/program/llama_builder.h"
#include "tiny_llama.h"

namespace pte {
namespace {

ExportOptions split_options(int64_t target, int64_t max_splits) {
  ExportOptions o = testing::tiny_options(DType::F32);
  o.target_split_size = target;
  o.max_splits = max_splits;
  return o;
}

Program split_tiny(const std::string& name, const ExportOptions& o, std::string* summary = nullptr) {
  auto f = testing::write_tiny_llama(name);
  auto ckpt = open_checkpoint(f.checkpoint);
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o);
  std::string s = kSplitLinearsPass.run(p, o);
  if (summary) *summary = s;
  return p;
}

// Weight keys of the linears that produce `output` (through a concat when split).
std::vector<std::string> linear_weights_for(const Graph& g, const std::string& output) {
  int out = -1;
  for (size_t i = 0; i < g.values.size(); ++i)
    if (g.values[i].name == output) out = static_cast<int>(i);
  std::vector<int> producers = {out};
  for (const GraphNode& n : g.nodes)
    if (n.op == "concat" && n.outputs[0] == out) producers = n.inputs;
  std::vector<std::string> keys;
  for (int v : producers)
    for (const GraphNode& n : g.nodes)
      if (n.op == "linear" && n.outputs[0] == v) keys.push_back(g.values[n.inputs[1]].weight);
  return keys;
}

TEST(SplitLinears, ChunkCountFollowsTheReferenceRule) {
  ExportOptions o = split_options(1024, 8);
  EXPECT_EQ(split_count(2048, o), 2);     // Llama 3.2 1B wq
  EXPECT_EQ(split_count(512, o), 1);      // wk/wv: below the target
  EXPECT_EQ(split_count(8192, o), 8);     // w1/w3
  EXPECT_EQ(split_count(128256, o), 8);   // output: capped by max_splits
}

TEST(SplitLinears, BelowTheTargetNothingChanges) {
  std::string summary;
  Program p = split_tiny("split_none", split_options(1024, 8), &summary);
  EXPECT_EQ(summary, "15 linears -> 15 chunks");  // 7 per layer x 2 + output head
  for (const GraphNode& n : p.methods[0].graph.nodes) EXPECT_NE(n.op, "concat");
}

TEST(SplitLinears, EvenSplitSlicesWeightRowsAndConcatenates) {
  std::string summary;
  Program p = split_tiny("split_even", split_options(4, 8), &summary);
  const Graph& g = p.methods[0].graph;
  // wq: 8 rows / 4 = 2 chunks; w1: 24 / 4 = 6 chunks; wk: 4 / 4 = 1 chunk.
  EXPECT_EQ(linear_weights_for(g, "layers.0.q"),
            (std::vector<std::string>{"layers.0.attention.wq.weight:fp32:rows0-4",
                                      "layers.0.attention.wq.weight:fp32:rows4-8"}));
  EXPECT_EQ(linear_weights_for(g, "layers.0.w1_out").size(), 6u);
  EXPECT_EQ(linear_weights_for(g, "layers.0.k"), (std::vector<std::string>{"layers.0.attention.wk.weight:fp32"}));
  EXPECT_EQ(p.weights.at("layers.0.attention.wq.weight:fp32:rows4-8").shape, (Shape{4, 8}));
  EXPECT_NE(summary.find("15 linears -> "), std::string::npos);
}

TEST(SplitLinears, MaxSplitsCapsTheChunkCount) {
  Program p = split_tiny("split_cap", split_options(1, 2));
  const Graph& g = p.methods[0].graph;
  EXPECT_EQ(linear_weights_for(g, "layers.1.w3_out").size(), 2u);
  EXPECT_EQ(linear_weights_for(g, "logits"),
            (std::vector<std::string>{"output.weight:fp32:rows0-5", "output.weight:fp32:rows5-10"}));
}

TEST(SplitLinears, UnevenSplitIsAnErrorNamingTheLayer) {
  try {
    split_tiny("split_uneven", split_options(3, 8));  // output head: 10 rows into 3 chunks
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'output.weight' has 10 outputs, which do not split evenly into 3 chunks"),
              std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pte
