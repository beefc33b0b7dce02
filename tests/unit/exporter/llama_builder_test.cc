#include "exporter/program/llama_builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "exporter/program/rope_tables.h"
#include "tiny_llama.h"

namespace pte {
namespace {

ExportOptions fp32_options(int64_t context = 16, int64_t input_len = 4) {
  ExportOptions o = testing::tiny_options();
  o.max_context_len = context;
  o.input_len = input_len;
  return o;
}

Program build(const testing::TinyLlamaFiles& f, const ExportOptions& o) {
  auto ckpt = open_checkpoint(f.checkpoint);
  return build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o);
}

std::string build_error(const testing::TinyLlamaFiles& f, const ExportOptions& o) {
  try {
    build(f, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LlamaBuilder, MethodIOFollowsTheStaticModel) {
  auto f = testing::write_tiny_llama("io");
  Program p = build(f, fp32_options(16, 4));
  ASSERT_EQ(p.methods.size(), 1u);
  const Method& m = p.methods[0];
  EXPECT_EQ(m.name, "forward");
  std::vector<std::string> in_names;
  for (const IOSpec& s : m.inputs) in_names.push_back(s.name);
  EXPECT_EQ(in_names, (std::vector<std::string>{"tokens", "mask", "freqs_cos", "freqs_sin", "k_cache_0",
                                                "k_cache_1", "v_cache_0", "v_cache_1"}));
  EXPECT_EQ(m.inputs[0].dtype, DType::I32);
  EXPECT_EQ(m.inputs[0].shape, (Shape{1, 4}));
  EXPECT_EQ(m.inputs[1].shape, (Shape{1, 4, 16}));  // C = 16 - 4 = 12 cache slots + 4 new
  EXPECT_EQ(m.inputs[2].shape, (Shape{4, 2}));      // head_dim 4
  EXPECT_EQ(m.inputs[4].shape, (Shape{1, 1, 12, 4}));
  std::vector<std::string> out_names;
  for (const IOSpec& s : m.outputs) out_names.push_back(s.name);
  EXPECT_EQ(out_names, (std::vector<std::string>{"logits", "k_update_0", "k_update_1", "v_update_0", "v_update_1"}));
  EXPECT_EQ(m.outputs[0].shape, (Shape{1, 4, 10}));
  EXPECT_EQ(m.outputs[1].shape, (Shape{1, 1, 4, 4}));
  EXPECT_EQ(m.outputs[4].layer, 1);
}

TEST(LlamaBuilder, KvCacheSpecsAreInLayerOrderPastTenLayers) {
  auto f = testing::write_tiny_llama("kvspecs", true, {}, {}, 12);
  Program p = build(f, fp32_options(16, 4));
  const IntTensor& kv = std::get<IntTensor>(p.metadata.at("kv_cache_specs"));
  ASSERT_EQ(kv.shape, (Shape{12, 5}));
  // Row l = [k_in, k_out, v_in, v_out, cache_len]: inputs 4.., 16..; outputs 1.., 13..
  EXPECT_EQ(std::vector<int64_t>(kv.values.begin(), kv.values.begin() + 5), (std::vector<int64_t>{4, 1, 16, 13, 12}));
  EXPECT_EQ(std::vector<int64_t>(kv.values.begin() + 10, kv.values.begin() + 15), (std::vector<int64_t>{6, 3, 18, 15, 12}));
  EXPECT_EQ(std::vector<int64_t>(kv.values.begin() + 55, kv.values.end()), (std::vector<int64_t>{15, 12, 27, 24, 12}));
  EXPECT_EQ(std::get<IntTensor>(p.metadata.at("mask_specs")).values, (std::vector<int64_t>{1, 12}));
  EXPECT_EQ(std::get<IntTensor>(p.metadata.at("forward_input_len")).values, (std::vector<int64_t>{4}));
}

TEST(LlamaBuilder, RopeTablesHoldMetaFrequencies) {
  auto f = testing::write_tiny_llama("rope");
  Program p = build(f, fp32_options(16, 4));
  const BytesTensor& cos = std::get<BytesTensor>(p.metadata.at("freqs_cos"));
  const BytesTensor& sin = std::get<BytesTensor>(p.metadata.at("freqs_sin"));
  ASSERT_EQ(cos.shape, (Shape{16, 2}));
  auto at = [](const BytesTensor& t, int row, int col) {
    float v;
    std::memcpy(&v, t.bytes.data() + 4 * (row * 2 + col), 4);
    return v;
  };
  // head_dim 4, theta 10000: f0 = 1, f1 = 10000^(-1/2) = 0.01.
  EXPECT_FLOAT_EQ(at(cos, 0, 0), 1.0f);
  EXPECT_FLOAT_EQ(at(sin, 0, 1), 0.0f);
  EXPECT_NEAR(at(cos, 1, 0), 0.5403023f, 1e-6);
  EXPECT_NEAR(at(sin, 3, 0), 0.14112f, 1e-5);
  EXPECT_NEAR(at(cos, 5, 1), 0.99875026f, 1e-6);
  EXPECT_NEAR(at(sin, 5, 1), 0.04997917f, 1e-6);
}

TEST(LlamaBuilder, Llama3ScalingKeepsHighAndDividesLowFrequencies) {
  ModelDescription p;
  p.head_dim = 64;
  p.rope_theta = 500000.0;
  p.rope_scaling = Llama3RopeScaling{32.0, 1.0, 4.0, 8192.0};
  std::vector<float> f = rope_frequencies(p);
  ASSERT_EQ(f.size(), 32u);
  EXPECT_FLOAT_EQ(f[0], 1.0f);  // wavelength 2π < 2048: kept
  const double f31 = std::pow(500000.0, -62.0 / 64.0);  // wavelength ≈ 2.1e6 > 8192: divided
  EXPECT_NEAR(f[31], f31 / 32.0, 1e-6 * f31);
  for (int i = 0; i < 32; ++i) {  // the smooth band: between f/scale and f
    double raw = std::pow(500000.0, -2.0 * i / 64.0);
    double wavelen = 2 * M_PI / raw;
    if (wavelen >= 2048 && wavelen <= 8192) {
      double smooth = (8192.0 / wavelen - 1.0) / 3.0;
      EXPECT_NEAR(f[i], (1 - smooth) * raw / 32.0 + smooth * raw, 1e-5 * raw) << i;
    }
  }
}

TEST(LlamaBuilder, MissingTensorIsNamed) {
  auto f = testing::write_tiny_llama("missing", true, {}, {"layers.1.attention.wk.weight"});
  std::string e = build_error(f, fp32_options());
  EXPECT_NE(e.find("'layers.1.attention.wk.weight' is missing"), std::string::npos) << e;
  EXPECT_NE(e.find("[4, 8]"), std::string::npos) << e;
}

TEST(LlamaBuilder, MisShapedTensorNamesBothShapes) {
  auto f = testing::write_tiny_llama("shape", true, {{"layers.0.feed_forward.w1.weight", {{20, 8}, std::vector<float>(160, 0.f)}}});
  std::string e = build_error(f, fp32_options());
  EXPECT_NE(e.find("'layers.0.feed_forward.w1.weight' has shape [20, 8], expected [24, 8]"), std::string::npos) << e;
  EXPECT_NE(e.find("hidden_dim 24"), std::string::npos) << e;
}

TEST(LlamaBuilder, TiedOutputUsesTheEmbeddingBlob) {
  auto f = testing::write_tiny_llama("tied", false);
  Program p = build(f, fp32_options());
  bool noted = false;
  for (const std::string& line : p.log) noted |= line.find("tied") != std::string::npos;
  EXPECT_TRUE(noted);
  const Graph& g = p.methods[0].graph;
  std::vector<std::string> head_weights;
  for (const GraphNode& n : g.nodes)
    if (n.stage == "head" && n.op == "linear") head_weights.push_back(g.values[n.inputs[1]].weight);
  EXPECT_EQ(head_weights, (std::vector<std::string>{"tok_embeddings.weight:fp32"}));
}

}  // namespace
}  // namespace pte
