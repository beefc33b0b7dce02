// quantize_rows against values worked out with numpy's float16/float32 arithmetic
// (each operation rounded to the model dtype), not with our code.
#include "exporter/program/quantize.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "common/float16.h"

namespace pte {
namespace {

struct Result {
  std::vector<int> codes;
  std::vector<uint32_t> scale_bits;
};

Result quantize(const std::vector<float>& x, int64_t rows, int bits, int64_t group, DType t) {
  const int64_t cols = static_cast<int64_t>(x.size()) / rows;
  const int64_t blocks = rows * (group ? cols / group : 1);
  std::vector<uint8_t> codes(bits == 4 ? (x.size() + 1) / 2 : x.size(), 0);
  std::vector<uint8_t> scales(static_cast<size_t>(blocks) * (t == DType::F16 ? 2 : 4));
  std::vector<float> values = x;
  if (t == DType::F16)
    for (float& v : values) v = round_to_half(v);
  quantize_rows(values.data(), 0, rows, cols, QuantizedLayout{bits, group, t}, codes.data(), scales.data());
  Result r;
  for (size_t i = 0; i < x.size(); ++i) {
    if (bits == 8) r.codes.push_back(static_cast<int8_t>(codes[i]));
    else r.codes.push_back(static_cast<int8_t>(static_cast<uint8_t>((codes[i / 2] >> (i % 2 ? 4 : 0)) << 4)) >> 4);
  }
  for (int64_t b = 0; b < blocks; ++b) {
    uint32_t bitsv = 0;
    std::memcpy(&bitsv, scales.data() + b * (t == DType::F16 ? 2 : 4), t == DType::F16 ? 2 : 4);
    r.scale_bits.push_back(bitsv);
  }
  return r;
}

TEST(Quantize, Int4PerRowFp32) {
  Result r = quantize({0.5f, -1.0f, 0.25f, 0.0f}, 1, 4, 0, DType::F32);
  EXPECT_EQ(r.codes, (std::vector<int>{4, -7, 2, 0}));
  EXPECT_EQ(r.scale_bits, (std::vector<uint32_t>{0x3e088889u}));  // fp32(1 / 7.5)
}

TEST(Quantize, Int4PerRowFp16LandsTheNegativeExtremeOnMinusEight) {
  // In fp16, 1/scale rounds up enough that -1.0 * recip rounds to -8, not -7 as in fp32.
  Result r = quantize({0.5f, -1.0f, 0.25f, 0.0f}, 1, 4, 0, DType::F16);
  EXPECT_EQ(r.codes, (std::vector<int>{4, -8, 2, 0}));
  EXPECT_EQ(r.scale_bits, (std::vector<uint32_t>{0x3044u}));
}

TEST(Quantize, Int8PerRowFp16) {
  Result r = quantize({3.0f, -2.0f, 1.0f, 0.1f}, 1, 8, 0, DType::F16);
  EXPECT_EQ(r.codes, (std::vector<int>{127, -85, 42, 4}));
  EXPECT_EQ(r.scale_bits, (std::vector<uint32_t>{0x2606u}));
}

TEST(Quantize, TiesRoundHalfToEven) {
  // scale 1, recip 1: -7.5 -> -8, 0.5 -> 0, 3.75 -> 4.
  Result r = quantize({-7.5f, 3.75f, 1.0f, 0.5f}, 1, 4, 0, DType::F32);
  EXPECT_EQ(r.codes, (std::vector<int>{-8, 4, 1, 0}));
  EXPECT_EQ(r.scale_bits, (std::vector<uint32_t>{0x3f800000u}));
}

TEST(Quantize, ZeroAndTinyBlocksGetTheSmallestNormalScale) {
  Result zero = quantize({0.0f, 0.0f, 0.0f, 0.0f}, 1, 4, 0, DType::F16);
  EXPECT_EQ(zero.codes, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(zero.scale_bits, (std::vector<uint32_t>{0x0400u}));  // 2^-14
  Result tiny = quantize({1e-6f, -2e-6f, 0.0f, 0.0f}, 1, 4, 0, DType::F16);
  EXPECT_EQ(tiny.codes, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(tiny.scale_bits, (std::vector<uint32_t>{0x0400u}));
  Result fp32_zero = quantize({0.0f, 0.0f}, 1, 8, 0, DType::F32);
  EXPECT_EQ(fp32_zero.scale_bits, (std::vector<uint32_t>{0x00800000u}));  // 2^-126
}

TEST(Quantize, GroupsAndRowsHaveTheirOwnScalesAndNibblesPackInOrder) {
  // Two rows of two groups of two; -15 * (1/2) = -7.5 ties to -8, 7.5 ties to 8 and clamps to 7.
  Result r = quantize({7.5f, -3.75f, 1.0f, 0.5f, 0.0f, 0.0f, -15.0f, 15.0f}, 2, 4, 2, DType::F32);
  EXPECT_EQ(r.codes, (std::vector<int>{7, -4, 7, 4, 0, 0, -8, 7}));
  ASSERT_EQ(r.scale_bits.size(), 4u);
  EXPECT_EQ(r.scale_bits, (std::vector<uint32_t>{0x3f800000u, 0x3e088889u, 0x00800000u, 0x40000000u}));
}

}  // namespace
}  // namespace pte
