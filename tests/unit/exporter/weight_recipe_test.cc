#include "exporter/program/weight_recipe.h"

#include <gtest/gtest.h>

#include <cstring>

#include "exporter/checkpoint/checkpoint.h"
#include "tiny_llama.h"

namespace pte {
namespace {

std::unique_ptr<Checkpoint> one_tensor(const std::string& name, testing::TinyTensor t) {
  std::string dir = testing::make_temp_dir(name);
  testing::write_safetensors(dir + "/w.safetensors", {{"w", std::move(t)}});
  return open_checkpoint(dir + "/w.safetensors");
}

std::vector<uint16_t> halves(const std::vector<uint8_t>& bytes) {
  std::vector<uint16_t> h(bytes.size() / 2);
  std::memcpy(h.data(), bytes.data(), bytes.size());
  return h;
}

TEST(WeightRecipe, CastsToFp16AndCountsOverflows) {
  auto ckpt = one_tensor("cast", {{2, 2}, {1.0f, 65504.0f, 1e5f, -0.1f}});
  WeightRecipe r{"", "w", "", {CastStep{DType::F16}}, DType::F16, {2, 2}};
  EXPECT_EQ(r.key(), "w:fp16");
  std::vector<std::vector<uint8_t>> out;
  WeightStats stats;
  compute_weight(r, CheckpointSet{ckpt.get(), {}}, out, stats);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(halves(out[0]), (std::vector<uint16_t>{0x3c00, 0x7bff, 0x7c00, 0xae66}));
  EXPECT_EQ(stats.fp16_overflows, 1u);
  EXPECT_EQ(stats.bytes_read, 16u);
}

TEST(WeightRecipe, SlicesRowsBeforeQuantizing) {
  auto ckpt = one_tensor("slice", {{3, 2}, {1.0f, 2.0f, 0.5f, -1.0f, 7.5f, 0.0f}});
  WeightRecipe r{"", "w", "", {CastStep{DType::F32}, SliceRowsStep{1, 3}, QuantizeStep{4, 0}}, DType::I4, {2, 2}};
  EXPECT_EQ(r.key(), "w:fp32:rows1-3:q4g0");
  EXPECT_EQ(r.blob_keys(), (std::vector<std::string>{"w:fp32:rows1-3:q4g0", "w:fp32:rows1-3:q4g0:scales"}));
  std::vector<std::vector<uint8_t>> out;
  WeightStats stats;
  compute_weight(r, CheckpointSet{ckpt.get(), {}}, out, stats);
  ASSERT_EQ(out.size(), 2u);
  // Row [0.5, -1]: scale fp32(1/7.5), codes 4, -7. Row [7.5, 0]: scale 1, codes 7, 0.
  EXPECT_EQ(out[0], (std::vector<uint8_t>{0x94, 0x07}));
  ASSERT_EQ(out[1].size(), 8u);
  uint32_t s0, s1;
  std::memcpy(&s0, out[1].data(), 4);
  std::memcpy(&s1, out[1].data() + 4, 4);
  EXPECT_EQ(s0, 0x3e088889u);
  EXPECT_EQ(s1, 0x3f800000u);
  EXPECT_EQ(stats.bytes_read, 16u);  // only the two sliced rows
}

TEST(WeightRecipe, InterleavesRotateHalfRowsThenSlices) {
  // 4 rows of one head (head_dim 4), HF order r0 r1 r2 r3 -> Meta order r0 r2 r1 r3.
  auto ckpt = one_tensor("interleave", {{4, 1}, {10.0f, 11.0f, 12.0f, 13.0f}});
  WeightRecipe r{"", "w", "", {CastStep{DType::F32}, RotateHalfToInterleavedStep{4}}, DType::F32, {4, 1}};
  std::vector<std::vector<uint8_t>> out;
  WeightStats stats;
  compute_weight(r, CheckpointSet{ckpt.get(), {}}, out, stats);
  std::vector<float> v(4);
  std::memcpy(v.data(), out[0].data(), 16);
  EXPECT_EQ(v, (std::vector<float>{10.0f, 12.0f, 11.0f, 13.0f}));
  r.steps.push_back(SliceRowsStep{1, 3});
  r.shape = {2, 1};
  compute_weight(r, CheckpointSet{ckpt.get(), {}}, out, stats);
  v.resize(2);
  std::memcpy(v.data(), out[0].data(), 8);
  EXPECT_EQ(v, (std::vector<float>{12.0f, 11.0f}));
}

TEST(WeightRecipe, AdapterTensorsAreKeyedByAdapterAndMetaName) {
  WeightRecipe r{"style", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                 "layers.0.attention.wq.lora_b.weight", {CastStep{DType::F16}}, DType::F16, {8, 4}};
  EXPECT_EQ(r.key(), "adapter.style.layers.0.attention.wq.lora_b.weight:fp16");
}

}  // namespace
}  // namespace pte
