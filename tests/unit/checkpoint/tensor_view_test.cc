#include "exporter/checkpoint/tensor_view.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "test_files.h"

namespace pte {
namespace {

// A view over `bytes` (kept alive by the caller).
TensorView view_of(const std::vector<uint8_t>& bytes, DType dtype, std::vector<int64_t> shape,
                   std::vector<int64_t> strides, int64_t offset = 0) {
  TensorView v;
  v.name = std::string("v");  // assigning the literal trips a GCC 12 -Wrestrict false positive
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.strides = std::move(strides);
  v.storage = bytes.data();
  v.storage_bytes = bytes.size();
  v.offset = offset;
  return v;
}

std::vector<uint8_t> floats(std::initializer_list<float> values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.begin(), bytes.size());
  return bytes;
}

TEST(TensorView, NumelAndShapeString) {
  std::vector<uint8_t> none;
  EXPECT_EQ(view_of(none, DType::F32, {64, 512}, {512, 1}).numel(), 32768);
  EXPECT_EQ(view_of(none, DType::F32, {64, 512}, {512, 1}).shape_string(), "[64, 512]");
  EXPECT_EQ(view_of(none, DType::F32, {}, {}).numel(), 1);
  EXPECT_EQ(view_of(none, DType::F32, {}, {}).shape_string(), "[]");
  EXPECT_EQ(view_of(none, DType::F32, {3, 0}, {0, 1}).numel(), 0);
}

TEST(TensorView, Contiguity) {
  std::vector<uint8_t> none;
  EXPECT_TRUE(view_of(none, DType::F32, {3, 4}, {4, 1}).is_contiguous());
  EXPECT_FALSE(view_of(none, DType::F32, {4, 3}, {1, 4}).is_contiguous());
  EXPECT_FALSE(view_of(none, DType::F32, {2, 2}, {4, 2}).is_contiguous());
  // Dimensions of size 1 do not matter, as in torch.
  EXPECT_TRUE(view_of(none, DType::F32, {1, 4}, {99, 1}).is_contiguous());
  EXPECT_TRUE(view_of(none, DType::F32, {0, 4}, {1, 7}).is_contiguous());
}

TEST(TensorView, ReadsTransposedViewInRowMajorOrder) {
  // Storage 0..5 as [2, 3]; the transposed view is [3, 2] with strides (1, 3).
  const auto bytes = floats({0, 1, 2, 3, 4, 5});
  float out[6];
  view_of(bytes, DType::F32, {3, 2}, {1, 3}).read_f32(out);
  const float expected[6] = {0, 3, 1, 4, 2, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected[i]) << i;
}

TEST(TensorView, ReadsOffsetAndSteppedView) {
  // Storage 0..11 as [3, 4]; rows 1.., columns 1::2 -> offset 5, strides (4, 2).
  const auto bytes = floats({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  float out[4];
  view_of(bytes, DType::F32, {2, 2}, {4, 2}, 5).read_f32(out);
  EXPECT_EQ(out[0], 5);
  EXPECT_EQ(out[1], 7);
  EXPECT_EQ(out[2], 9);
  EXPECT_EQ(out[3], 11);
}

TEST(TensorView, ConvertsHalfAndBfloat16Exactly) {
  // fp16 0x3c00 = 1.0, 0xc000 = -2.0, 0x0001 = 2^-24; bf16 0x3fc0 = 1.5, 0xc040 = -3.0.
  const std::vector<uint8_t> half = {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00};
  const std::vector<uint8_t> bf16 = {0xc0, 0x3f, 0x40, 0xc0};
  float h[3], b[2];
  view_of(half, DType::F16, {3}, {1}).read_f32(h);
  view_of(bf16, DType::BF16, {2}, {1}).read_f32(b);
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(h[2], 0x1p-24f);
  EXPECT_EQ(b[0], 1.5f);
  EXPECT_EQ(b[1], -3.0f);
}

TEST(TensorView, ReadRawKeepsBytesOfStridedInt64) {
  std::vector<uint8_t> bytes(4 * 8);
  const int64_t values[4] = {10, -20, 30, -40};
  std::memcpy(bytes.data(), values, sizeof values);
  // Every other element, backwards is impossible in torch, so: elements 1 and 3.
  int64_t out[2];
  view_of(bytes, DType::I64, {2}, {2}, 1).read_raw(reinterpret_cast<uint8_t*>(out));
  EXPECT_EQ(out[0], -20);
  EXPECT_EQ(out[1], -40);
}

TEST(TensorView, ReadsScalarAndRank3) {
  const auto bytes = floats({0, 1, 2, 3, 4, 5, 6, 7});
  float scalar;
  view_of(bytes, DType::F32, {}, {}, 6).read_f32(&scalar);
  EXPECT_EQ(scalar, 6);
  // [2, 2, 2] permuted (2, 0, 1): strides (1, 4, 2).
  float out[8];
  view_of(bytes, DType::F32, {2, 2, 2}, {1, 4, 2}).read_f32(out);
  const float expected[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], expected[i]) << i;
}

TEST(TensorView, ReadF32RefusesIntegers) {
  std::vector<uint8_t> bytes(8);
  float out[2];
  const std::string message =
      test::error_of([&] { view_of(bytes, DType::I32, {2}, {1}).read_f32(out); });
  EXPECT_NE(message.find("'v'"), std::string::npos) << message;
  EXPECT_NE(message.find("int32"), std::string::npos) << message;
}

}  // namespace
}  // namespace pte
