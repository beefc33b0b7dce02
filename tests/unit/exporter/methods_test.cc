// The methods of SPEC §3: multifunction decode/prefill pairs and LoRA adapter methods.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "exporter/program/llama_builder.h"
#include "passes/pipeline.h"
#include "tiny_llama.h"

namespace pte {
namespace {

ExportOptions options(bool multifunction) {
  ExportOptions o = testing::tiny_options(DType::F16);
  o.linear_quantize = LinearQuantization::C4W;
  o.multifunction = multifunction;
  return o;
}

Program build(const testing::TinyLlamaFiles& f, const ExportOptions& o, const std::vector<LoraAdapter>& adapters) {
  auto ckpt = open_checkpoint(f.checkpoint);
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o, adapters);
  run_pipeline(p, o);
  return p;
}

std::vector<std::string> method_names(const Program& p) {
  std::vector<std::string> names;
  for (const Method& m : p.methods) names.push_back(m.name);
  return names;
}

TEST(Methods, MultifunctionHasDecodeAndPrefillSharingOneCacheLength) {
  auto f = testing::write_tiny_llama("multifunction");
  Program p = build(f, options(true), {});
  ASSERT_EQ(method_names(p), (std::vector<std::string>{"forward", "prefill"}));
  const Method& decode = p.methods[0];
  const Method& prefill = p.methods[1];
  EXPECT_EQ(decode.role, MethodRole::Decode);
  EXPECT_EQ(prefill.role, MethodRole::Prefill);
  EXPECT_EQ(decode.inputs[0].shape, (Shape{1, 1}));
  EXPECT_EQ(prefill.inputs[0].shape, (Shape{1, 4}));
  EXPECT_EQ(decode.inputs[1].shape, (Shape{1, 1, 16}));   // C = 16 - 1 = 15 slots + 1 new
  EXPECT_EQ(prefill.inputs[1].shape, (Shape{1, 4, 19}));  // 15 + 4
  EXPECT_EQ(decode.inputs[4].shape, prefill.inputs[4].shape);
  ASSERT_EQ(prefill.inputs.size(), 9u);  // 4 + 2L + last_valid_token_pos
  EXPECT_EQ(prefill.inputs[8].name, "last_valid_token_pos");
  EXPECT_EQ(prefill.inputs[8].dtype, DType::I64);
  EXPECT_EQ(prefill.inputs[8].role, IORole::LastValidTokenPos);
  EXPECT_EQ(prefill.outputs[0].shape, (Shape{1, 1, 10}));
  EXPECT_EQ(std::get<IntTensor>(p.metadata.at("decode_input_len")).values, (std::vector<int64_t>{1}));
  EXPECT_EQ(std::get<IntTensor>(p.metadata.at("prefill_input_len")).values, (std::vector<int64_t>{4}));
  EXPECT_EQ(std::get<IntTensor>(p.metadata.at("prefill_mask_specs")).values, (std::vector<int64_t>{1, 15}));
  EXPECT_EQ(p.metadata.count("forward_input_len"), 0u);
  EXPECT_EQ(p.metadata.count("mask_specs"), 0u);
}

TEST(Methods, MethodsAreCutAtTheSameStagesAndShareEveryWeightKey) {
  auto f = testing::write_tiny_llama("shared");
  Program p = build(f, options(true), {});
  const Method& decode = p.methods[0];
  const Method& prefill = p.methods[1];
  ASSERT_EQ(decode.pieces.size(), prefill.pieces.size());
  for (size_t i = 0; i < decode.pieces.size(); ++i) {
    EXPECT_EQ(decode.pieces[i].name, prefill.pieces[i].name);
    std::vector<std::string> a, b;
    for (const GraphValue& v : decode.pieces[i].graph.values) if (v.is_weight()) a.push_back(v.weight);
    for (const GraphValue& v : prefill.pieces[i].graph.values) if (v.is_weight()) b.push_back(v.weight);
    EXPECT_EQ(a, b) << decode.pieces[i].name;
  }
}

TEST(Methods, AdapterMethodsAddScaledLoraToTheirTargetsOnly) {
  auto f = testing::write_tiny_llama("lora");
  std::vector<LoraAdapter> adapters;
  adapters.push_back(testing::tiny_adapter(f.dir));
  Program p = build(f, options(false), adapters);
  ASSERT_EQ(method_names(p), (std::vector<std::string>{"forward", "style"}));
  const Method& m = p.methods[1];
  EXPECT_EQ(m.adapter, "style");
  const Graph& g = m.graph;
  const GraphNode* q_add = nullptr;
  std::vector<std::string> lora_keys;
  for (const GraphNode& n : g.nodes) {
    if (g.values[n.outputs[0]].name == "layers.1.q") q_add = &n;
    for (int v : n.inputs)
      if (g.values[v].weight.rfind("adapter.", 0) == 0) lora_keys.push_back(g.values[v].weight);
  }
  ASSERT_NE(q_add, nullptr);
  EXPECT_EQ(q_add->op, "add");
  EXPECT_DOUBLE_EQ(std::get<double>(q_add->attrs.at(0).second), 2.0);
  EXPECT_EQ(lora_keys, (std::vector<std::string>{"adapter.style.layers.1.attention.wq.lora_a.weight:fp16",
                                                 "adapter.style.layers.1.attention.wq.lora_b.weight:fp16:interleave4",
                                                 "adapter.style.layers.1.feed_forward.w2.lora_a.weight:fp16",
                                                 "adapter.style.layers.1.feed_forward.w2.lora_b.weight:fp16"}));
  // LoRA weights stay fp16 while the base linears are c4w.
  for (const auto& [key, recipe] : p.weights) {
    if (!recipe.checkpoint.empty()) {
      EXPECT_EQ(recipe.dtype, DType::F16) << key;
    }
  }
  // Layer 0 is untargeted: the adapter method computes it exactly as the base method does.
  auto layer0 = [](const Graph& graph) {
    std::vector<std::string> ops;
    for (const GraphNode& n : graph.nodes)
      if (n.stage == "layers.0") ops.push_back(n.op + ":" + graph.values[n.outputs[0]].name);
    return ops;
  };
  EXPECT_EQ(layer0(g), layer0(p.methods[0].graph));
}

TEST(Methods, MethodsMetadataDescribesRolesAndAdapters) {
  auto f = testing::write_tiny_llama("methods_meta");
  std::vector<LoraAdapter> adapters;
  adapters.push_back(testing::tiny_adapter(f.dir));
  Program p = build(f, options(true), adapters);
  ASSERT_EQ(method_names(p), (std::vector<std::string>{"forward", "prefill", "style_forward", "style_prefill"}));
  auto j = nlohmann::json::parse(std::get<TextValue>(p.metadata.at("methods")).text);
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0]["role"], "decode");
  EXPECT_TRUE(j[0]["adapter"].is_null());
  EXPECT_EQ(j[3]["name"], "style_prefill");
  EXPECT_EQ(j[3]["role"], "prefill");
  EXPECT_EQ(j[3]["input_len"], 4);
  EXPECT_EQ(j[3]["cache_len"], 15);
  EXPECT_EQ(j[3]["adapter"]["rank"], 2);
  EXPECT_EQ(j[3]["adapter"]["scale"], 2.0);
  EXPECT_EQ(j[3]["adapter"]["targets"], (nlohmann::json{"layers.1.attention.wq", "layers.1.feed_forward.w2"}));
}

}  // namespace
}  // namespace pte
