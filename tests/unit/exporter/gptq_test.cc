// GPTQ (gptq.h) on cases worked out by hand: a 2×2 block whose correlation carries the first
// column's rounding error into the second, the factors of that block, a column no token
// reached, and uncorrelated columns, where GPTQ must code exactly like the reference.
#include "exporter/program/gptq.h"

#include "common/error.h"
#include "common/float16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace pte {
namespace {

ColumnHessian hessian(int64_t cols, std::vector<double> sums, int64_t tokens = 1) {
  ColumnHessian h;
  h.cols = cols;
  h.block = kGptqBlock;
  h.tokens = tokens;
  h.sums = std::move(sums);
  return h;
}

// H = [[1, 0.5], [0.5, 1]] over 1 token: Hd = H + 0.01 I (the mean diagonal is 1), det 0.7701,
// Hd⁻¹ = [[1.311518, −0.649266], [−0.649266, 1.311518]], U = [[1.145215, −0.566938], [0, 0.995037]].
const ColumnHessian kCorrelated = hessian(2, {1.0, 0.5, 0.5, 1.0});

TEST(Gptq, FactorsOfACorrelatedBlock) {
  const GptqFactors f(kCorrelated, "test");
  EXPECT_NEAR(f.damped[0], 1.01, 1e-15);
  EXPECT_NEAR(f.damped[1], 0.5, 1e-15);
  EXPECT_NEAR(f.upper[0], 1.145215, 1e-6);
  EXPECT_NEAR(f.upper[1], -0.566938, 1e-6);
  EXPECT_EQ(f.upper[2], 0.0);
  EXPECT_NEAR(f.upper[3], 0.995037, 1e-6);
}

TEST(Gptq, TheFirstColumnsErrorMovesTheSecondsCode) {
  const GptqFactors f(kCorrelated, "test");
  const QuantizedLayout layout{4, 0, DType::F32};
  // amax 0.75: scale 0.1. Column 0: 7.5 codes 7 (0.75 × T(1/0.1) is just below 7.5), error 0.05,
  // e = 0.05 / 1.145215; column 1 becomes 0.24 + e × 0.566938 = 0.264753, code 3 (alone: 2).
  const float x[2] = {0.75f, 0.24f};
  int8_t q[2];
  float s;
  const double err = detail::gptq_row(x, 2, layout, f, 100, true, INFINITY, q, &s);
  EXPECT_EQ(s, 0.75f / 7.5f);
  EXPECT_EQ(q[0], 7);
  EXPECT_EQ(q[1], 3);
  // d = (0.05, −0.06): 1.01 × (0.0025 + 0.0036) − 0.003 = 0.003161, which Σ e² equals.
  EXPECT_NEAR(err, 0.003161, 1e-7);
  EXPECT_NEAR(detail::damped_error(x, 2, layout, f, q, &s), err, 1e-9);  // the float32 updates

  detail::gptq_row(x, 2, layout, f, 100, false, INFINITY, q, &s);  // the reference coding
  EXPECT_EQ(q[0], 7);
  EXPECT_EQ(q[1], 2);
  // d = (0.05, 0.04): 1.01 × 0.0041 + 0.002 = 0.006141.
  EXPECT_NEAR(detail::damped_error(x, 2, layout, f, q, &s), 0.006141, 1e-7);
}

TEST(Gptq, ChosenRowIsNoWorseThanEitherCoding) {
  const GptqFactors f(kCorrelated, "test");
  const QuantizedLayout layout{4, 0, DType::F32};
  const float x[2] = {0.75f, 0.24f};
  uint8_t codes[1] = {0};
  float scale;
  ASSERT_TRUE(gptq_quantize_rows(x, 0, 1, 2, layout, f, codes, reinterpret_cast<uint8_t*>(&scale)));
  const int8_t q[2] = {static_cast<int8_t>(static_cast<int8_t>(codes[0] << 4) >> 4),
                       static_cast<int8_t>(static_cast<int8_t>(codes[0]) >> 4)};
  EXPECT_LE(detail::damped_error(x, 2, layout, f, q, &scale), 0.003161 + 1e-7);
}

TEST(Gptq, AColumnNoTokenReachedGetsTheMeanDiagonal) {
  const GptqFactors f(hessian(2, {4.0, 0.0, 0.0, 0.0}, 2), "test");  // diag/tokens (2, 0), mean 1
  EXPECT_NEAR(f.damped[0], 2.01, 1e-15);
  EXPECT_NEAR(f.damped[3], 1.01, 1e-15);
}

TEST(Gptq, UncorrelatedColumnsCodeLikeTheReference) {
  // H = I over 160 columns (blocks of 128 and 32), groups of 32: U is diagonal, nothing is
  // spread, and the codes and scales are quantize_rows' (bit-exact with PyTorch elsewhere).
  const int64_t n = 160;
  std::vector<double> eye(static_cast<size_t>(kGptqBlock * kGptqBlock + 32 * 32), 0.0);
  for (int64_t i = 0; i < kGptqBlock; ++i) eye[i * kGptqBlock + i] = 1.0;
  for (int64_t i = 0; i < 32; ++i) eye[kGptqBlock * kGptqBlock + i * 32 + i] = 1.0;
  const GptqFactors f(hessian(n, eye), "test");
  for (const int64_t group : {int64_t{0}, int64_t{32}}) {
    const QuantizedLayout layout{4, group, DType::F16};
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * (1 + i / 32));
    for (float& v : x) v = round_to_half(v);
    const int64_t blocks = group ? n / group : 1;
    std::vector<int8_t> q(static_cast<size_t>(n));
    std::vector<float> s(static_cast<size_t>(blocks));
    detail::gptq_row(x.data(), n, layout, f, 100, true, INFINITY, q.data(), s.data());
    std::vector<uint8_t> codes(static_cast<size_t>(n / 2), 0), scales(static_cast<size_t>(2 * blocks));
    ASSERT_TRUE(quantize_rows(x.data(), 0, 1, n, layout, codes.data(), scales.data()));
    for (int64_t i = 0; i < n; ++i) {
      const int8_t expected = static_cast<int8_t>(static_cast<int8_t>(codes[i / 2] << (i % 2 ? 0 : 4)) >> 4);
      EXPECT_EQ(q[i], expected) << "group " << group << " column " << i;
    }
    for (int64_t b = 0; b < blocks; ++b) {
      uint16_t h;
      std::memcpy(&h, scales.data() + 2 * b, 2);
      EXPECT_EQ(s[b], half_to_float(h)) << "group " << group << " block " << b;
    }
  }
}

TEST(Gptq, WrongSizedStatisticsAreRefused) {
  ColumnHessian h = hessian(3, {1.0, 0.0, 0.0, 1.0});
  EXPECT_THROW(GptqFactors(h, "test"), Error);
}

}  // namespace
}  // namespace pte
