#include "passes/quantize_weights.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "exporter/model/linear_module.h"
#include "exporter/program/llama_builder.h"
#include "tiny_llama.h"

namespace pte {
namespace {

ExportOptions quant_options(LinearQuantization linear, std::optional<EmbeddingQuantization> embedding) {
  ExportOptions o = testing::tiny_options(DType::F16);
  o.linear_quantize = linear;
  o.embedding_quantize = embedding;
  return o;
}

Program build_tiny(const std::string& name, const ExportOptions& o, bool with_output = true) {
  auto f = testing::write_tiny_llama(name, with_output);
  auto ckpt = open_checkpoint(f.checkpoint);
  return build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o);
}

const GraphValue& weight_of(const Graph& g, const std::string& op, const std::string& output) {
  for (const GraphNode& n : g.nodes)
    if (n.op == op && g.values[n.outputs[0]].name == output) return g.values[n.inputs[op == "embedding" ? 0 : 1]];
  throw std::runtime_error("no node producing " + output);
}

TEST(QuantizeWeights, C4wMakesEveryLinearInt4PerRow) {
  ExportOptions o = quant_options(LinearQuantization::C4W, std::nullopt);
  Program p = build_tiny("c4w", o);
  EXPECT_EQ(kQuantizeLinearsPass.run(p, o), "15 linears -> int4 c4w");
  const GraphValue& wq = weight_of(p.methods[0].graph, "linear", "layers.0.q");
  EXPECT_EQ(wq.dtype, DType::I4);
  EXPECT_EQ(wq.weight, "layers.0.attention.wq.weight:fp16:q4g0");
  EXPECT_EQ(wq.scales, "layers.0.attention.wq.weight:fp16:q4g0:scales");
  EXPECT_EQ(wq.group_size, 0);
  EXPECT_EQ(wq.scales_dtype, DType::F16);
  EXPECT_EQ(p.weights.at(wq.weight).blob_keys(), (std::vector<std::string>{wq.weight, wq.scales}));
  // Norms and the embedding stay float.
  EXPECT_EQ(weight_of(p.methods[0].graph, "embedding", "embedding_out").dtype, DType::F16);
}

TEST(QuantizeWeights, OverridesPickTheModeByMetaModuleNameFirstMatchWins) {
  ExportOptions o = quant_options(LinearQuantization::C4W, std::nullopt);
  o.quant_overrides = {parse_quant_override("output=c8w"), parse_quant_override("layers.0.*=none"),
                       parse_quant_override("layers.0.attention.wq=c8w")};  // shadowed by layers.0.*
  Program p = build_tiny("overrides", o);
  kQuantizeLinearsPass.run(p, o);
  const Graph& g = p.methods[0].graph;
  EXPECT_EQ(weight_of(g, "linear", "logits").weight, "output.weight:fp16:q8g0");
  EXPECT_EQ(weight_of(g, "linear", "layers.0.q").dtype, DType::F16);
  EXPECT_EQ(weight_of(g, "linear", "layers.1.q").weight, "layers.1.attention.wq.weight:fp16:q4g0");
  ASSERT_TRUE(p.metadata.count("quantization.plan"));
  const std::string plan = std::get<TextValue>(p.metadata.at("quantization.plan")).text;
  EXPECT_NE(plan.find("\"output\":{\"mode\":\"c8w\""), std::string::npos) << plan;
  EXPECT_NE(plan.find("\"layers.0.attention.wq\":{\"mode\":\"none\""), std::string::npos) << plan;

  o.quant_overrides = {parse_quant_override("layers.7.*=c8w")};
  Program q = build_tiny("overrides_unmatched", o);
  EXPECT_THROW(kQuantizeLinearsPass.run(q, o), Error);
}

TEST(QuantizeWeights, MetaLinearNamesOfBothLayouts) {
  EXPECT_EQ(meta_linear_name("layers.3.feed_forward.w2.weight"), "layers.3.feed_forward.w2");
  EXPECT_EQ(meta_linear_name("model.layers.3.mlp.down_proj.weight"), "layers.3.feed_forward.w2");
  EXPECT_EQ(meta_linear_name("model.layers.0.self_attn.q_proj.weight"), "layers.0.attention.wq");
  EXPECT_EQ(meta_linear_name("output.weight"), "output");
  EXPECT_EQ(meta_linear_name("lm_head.weight"), "output");
  EXPECT_EQ(meta_linear_name("model.embed_tokens.weight"), "output");  // a tied head
}

TEST(QuantizeWeights, B4wLeavesInputsThatAreNotMultiplesOf32InFloatAndSaysSo) {
  ExportOptions o = quant_options(LinearQuantization::B4W, std::nullopt);
  Program p = build_tiny("b4w", o);  // every linear has 8 or 24 inputs
  EXPECT_EQ(kQuantizeLinearsPass.run(p, o), "0 linears -> int4 b4w, 15 left in float");
  ASSERT_FALSE(p.log.empty());
  EXPECT_NE(p.log.back().find("layers.1.feed_forward.w2.weight"), std::string::npos) << p.log.back();
  EXPECT_EQ(weight_of(p.methods[0].graph, "linear", "layers.0.q").dtype, DType::F16);
}

TEST(QuantizeWeights, EmbeddingGroupsAndTiedHeadAreQuantizedPerUse) {
  ExportOptions o = quant_options(LinearQuantization::C4W, EmbeddingQuantization{4, 4});
  Program p = build_tiny("tied_quant", o, /*with_output=*/false);
  kQuantizeLinearsPass.run(p, o);
  EXPECT_EQ(kQuantizeEmbeddingPass.run(p, o), "1 embedding table(s) -> int4, groups of 4");
  const Graph& g = p.methods[0].graph;
  const GraphValue& table = weight_of(g, "embedding", "embedding_out");
  EXPECT_EQ(table.weight, "tok_embeddings.weight:fp16:q4g4");
  EXPECT_EQ(table.group_size, 4);
  EXPECT_EQ(weight_of(g, "linear", "logits").weight, "tok_embeddings.weight:fp16:q4g0");
}

TEST(QuantizeWeights, EmbeddingGroupThatDoesNotDivideDimIsAnError) {
  ExportOptions o = quant_options(LinearQuantization::None, EmbeddingQuantization{8, 3});
  Program p = build_tiny("bad_group", o);
  try {
    kQuantizeEmbeddingPass.run(p, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("group 3 does not divide the embedding dim 8 of 'tok_embeddings.weight'"),
              std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pte
