// The scale search's block error, screening and verification sums, every variant the CPU runs, on
// hand-computed cases: codes that are exact multiples of the scale cost nothing, a clipped element
// and a rounded one cost their squared distance (times the importance), at positions in vector
// bodies, tails of odd sizes and across the float32 lanes' 128-element strides; and on random
// blocks, every variant's sums bit for bit the portable ones.
#include "exporter/program/scale_search_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "common/float16.h"

namespace pte {
namespace {

class ScaleSearchKernels : public ::testing::TestWithParam<QuantizeVariant> {};

TEST_P(ScaleSearchKernels, ErrorsOfHandMadeBlocks) {
  const QuantizeVariant v = GetParam();
  const detail::BlockErrorFn error = detail::block_error_of(v);
  if (!cpu_supports(v)) GTEST_SKIP() << "variant " << variant_name(v) << " not run: this CPU (or build) lacks it";
  const double inf = std::numeric_limits<double>::infinity();
  for (const bool half : {false, true})
    for (const int64_t n : {int64_t{1}, int64_t{7}, int64_t{16}, int64_t{77}, int64_t{130}}) {
      // Multiples of the scale 0.5 within the int4 range: every code exact, no error.
      std::vector<float> x(static_cast<size_t>(n)), w(static_cast<size_t>(n), 1.0f);
      for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = 0.5f * static_cast<float>(i % 16 - 8);
      EXPECT_EQ(error(x.data(), n, nullptr, 0.5f, -8, 7, inf, half), 0.0) << variant_name(v) << " n " << n;
      // 5.0 clips to code 7 (3.5): 1.5² = 2.25, weighted 3 → 6.75; 0.25 rounds to code 0 (ties to even): 0.0625.
      const size_t clip = static_cast<size_t>(n - 1), rounded = static_cast<size_t>(n / 2);
      x[clip] = 5.0f;
      w[clip] = 3.0f;
      double expected = 6.75;
      if (rounded != clip) {
        x[rounded] = 0.25f;
        expected += 0.0625;
      }
      EXPECT_EQ(error(x.data(), n, w.data(), 0.5f, -8, 7, inf, half), expected) << variant_name(v) << " n " << n;
      EXPECT_EQ(error(x.data(), n, nullptr, 0.5f, -8, 7, inf, half), expected - 4.5) << variant_name(v) << " n " << n;
      // A bound below the error: the result is still at least the bound.
      EXPECT_GE(error(x.data(), n, w.data(), 0.5f, -8, 7, 1.0, half), 1.0) << variant_name(v) << " n " << n;
    }
}

TEST_P(ScaleSearchKernels, Fp16RoundingOfTheProducts) {
  const QuantizeVariant v = GetParam();
  const detail::BlockErrorFn error = detail::block_error_of(v);
  if (!cpu_supports(v)) GTEST_SKIP() << "variant " << variant_name(v) << " not run: this CPU (or build) lacks it";
  // Scale 1/3 (fp32 0x3eaaaaab): 1 × (1/3) is 0.33333334 in fp32 but 0.33325195 in fp16, so with
  // x = 0.33325195 (an fp16 value) the fp16 file reconstructs it exactly and the fp32 one does not.
  const float s = 1.0f / 3.0f, x = 0.333251953125f;
  std::vector<float> xs(21, 0.0f);
  xs[19] = x;
  const double d = static_cast<double>(x) - static_cast<double>(s);
  EXPECT_EQ(error(xs.data(), 21, nullptr, s, -8, 7, std::numeric_limits<double>::infinity(), false), d * d);
  // In fp16 the scale itself is a value of T: the fp16 scale 0.33325195 gives code 1, exact.
  EXPECT_EQ(error(xs.data(), 21, nullptr, x, -8, 7, std::numeric_limits<double>::infinity(), true), 0.0);
}

// x = (i % 16 − 8) / 2 (−4 .. 3.5) and int4 codes: the squared error of each residue i % 16, by
// hand, for the scales 0.5 (every code exact), 1 (the odd halves round to even: 0.25), 0.25
// (codes 4x clip to −8 and 7: x = −4 → −2, 3.5 → 1.75, ...) and 2 (x / 2 ties round to even).
constexpr double kPerResidue[4][16] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {0, 0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0, 0.25},
    {4, 2.25, 1, 0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0.0625, 0.5625, 1.5625, 3.0625},
    {0, 0.25, 1, 0.25, 0, 0.25, 1, 0.25, 0, 0.25, 1, 0.25, 0, 0.25, 1, 0.25},
};
constexpr float kScales[4] = {0.5f, 1.0f, 0.25f, 2.0f};

double expected_error(int candidate, int64_t n, double last_weight) {
  double e = 0;
  for (int64_t i = 0; i < n; ++i) e += kPerResidue[candidate][i % 16] * (i == n - 1 ? last_weight : 1.0);
  return e;
}

std::vector<float> halves_block(int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = 0.5f * static_cast<float>(i % 16 - 8);
  return x;
}

TEST_P(ScaleSearchKernels, ScreeningErrorsOfHandMadeBlocks) {
  const QuantizeVariant v = GetParam();
  const detail::ScreenFn screen = detail::screen_of(v);
  if (!cpu_supports(v)) GTEST_SKIP() << "variant " << variant_name(v) << " not run: this CPU (or build) lacks it";
  // Up to kScreenMax candidates in one pass: the four scales, then 0.5 again.
  const int order[detail::kScreenMax] = {1, 2, 3, 0, 0};
  float recip[detail::kScreenMax], s[detail::kScreenMax];
  for (int c = 0; c < detail::kScreenMax; ++c) {
    s[c] = kScales[order[c]];
    recip[c] = 1.0f / s[c];
  }
  for (const int64_t n : {int64_t{1}, int64_t{7}, int64_t{16}, int64_t{77}, int64_t{130}, int64_t{300}}) {
    const std::vector<float> x = halves_block(n);
    std::vector<float> w(static_cast<size_t>(n), 1.0f);
    w.back() = 3.0f;
    for (int k = 1; k <= detail::kScreenMax; ++k) {
      double sum[detail::kScreenMax], weighted[detail::kScreenMax];
      screen(x.data(), n, nullptr, recip, s, k, -8, 7, sum);
      screen(x.data(), n, w.data(), recip, s, k, -8, 7, weighted);
      for (int c = 0; c < k; ++c) {
        EXPECT_EQ(sum[c], expected_error(order[c], n, 1.0))
            << variant_name(v) << " n " << n << " k " << k << " c " << c;
        EXPECT_EQ(weighted[c], expected_error(order[c], n, 3.0))
            << variant_name(v) << " n " << n << " k " << k << " c " << c;
      }
    }
  }
}

TEST_P(ScaleSearchKernels, VerificationErrorsOfHandMadeBlocks) {
  const QuantizeVariant v = GetParam();
  const detail::VerifyFn verify = detail::verify_of(v);
  if (!cpu_supports(v)) GTEST_SKIP() << "variant " << variant_name(v) << " not run: this CPU (or build) lacks it";
  for (const int64_t n : {int64_t{1}, int64_t{7}, int64_t{16}, int64_t{77}, int64_t{130}, int64_t{300}}) {
    const std::vector<float> x = halves_block(n);
    for (const auto& [a, b] : {std::pair{0, 1}, std::pair{2, 3}}) {
      const float s[2] = {kScales[a], kScales[b]};
      double sum[2];
      verify(x.data(), n, s, -8, 7, sum);
      EXPECT_EQ(sum[0], expected_error(a, n, 1.0)) << variant_name(v) << " n " << n;
      EXPECT_EQ(sum[1], expected_error(b, n, 1.0)) << variant_name(v) << " n " << n;
    }
  }
}

TEST_P(ScaleSearchKernels, VerificationRoundsToFp16AndScreeningDoesNot) {
  const QuantizeVariant v = GetParam();
  const detail::VerifyFn verify = detail::verify_of(v);
  const detail::ScreenFn screen = detail::screen_of(v);
  if (!cpu_supports(v)) GTEST_SKIP() << "variant " << variant_name(v) << " not run: this CPU (or build) lacks it";
  // s = 1 + 2^-10 (fp16), T(1 / s) = 1 − 2^-10, x = 3 + 2^-9 (fp16): code 3 either way; 3s =
  // 3 + 3·2^-10 lies halfway between fp16 neighbours and rounds to even, 3 + 2^-8. Verification:
  // d = −2^-9; screening (3s unrounded): d = −2^-10. With s = 0.25: code 12 clips to 7, d =
  // x − 1.75 = 1.251953125 either way.
  std::vector<float> x(21, 0.0f);
  x[19] = 3.001953125f;
  const float s[2] = {1.0009765625f, 0.25f}, recip[2] = {0.9990234375f, 4.0f};
  double sum[2];
  verify(x.data(), 21, s, -8, 7, sum);
  EXPECT_EQ(sum[0], 0x1p-18);
  EXPECT_EQ(sum[1], 1.251953125 * 1.251953125);
  screen(x.data(), 21, nullptr, recip, s, 2, -8, 7, sum);
  EXPECT_EQ(sum[0], 0x1p-20);
  EXPECT_EQ(sum[1], 1.251953125 * 1.251953125);
}

TEST_P(ScaleSearchKernels, SumsOfRandomBlocksAreThePortableOnes) {
  const QuantizeVariant v = GetParam();
  if (!cpu_supports(v)) GTEST_SKIP() << "variant " << variant_name(v) << " not run: this CPU (or build) lacks it";
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::uniform_real_distribution<float> importance(0.0f, 4.0f);
  for (const int64_t n : {int64_t{5}, int64_t{64}, int64_t{333}, int64_t{2048}}) {
    std::vector<float> x(static_cast<size_t>(n)), w(static_cast<size_t>(n));
    float amax = 0;
    for (int64_t i = 0; i < n; ++i) {
      x[static_cast<size_t>(i)] = half_to_float(float_to_half(normal(rng)));
      w[static_cast<size_t>(i)] = importance(rng);
      amax = std::max(amax, std::fabs(x[static_cast<size_t>(i)]));
    }
    for (const int bits : {4, 8}) {
      const float qmax = bits == 4 ? 7.0f : 127.0f, qmin = -qmax - 1;
      float s[detail::kScreenMax], recip[detail::kScreenMax];
      for (int c = 0; c < detail::kScreenMax; ++c) {
        s[c] = half_to_float(float_to_half(amax * (0.7f + 0.09f * static_cast<float>(c)) / (qmax + 0.5f)));
        recip[c] = half_to_float(float_to_half(1.0f / s[c]));
      }
      for (const float* weights : {static_cast<const float*>(nullptr), static_cast<const float*>(w.data())}) {
        double got[detail::kScreenMax], want[detail::kScreenMax];
        detail::screen_of(v)(x.data(), n, weights, recip, s, detail::kScreenMax, qmin, qmax, got);
        detail::screen_portable(x.data(), n, weights, recip, s, detail::kScreenMax, qmin, qmax, want);
        for (int c = 0; c < detail::kScreenMax; ++c) EXPECT_EQ(got[c], want[c]) << variant_name(v) << " n " << n;
      }
      double got[2], want[2];
      detail::verify_of(v)(x.data(), n, s, qmin, qmax, got);
      detail::verify_portable(x.data(), n, s, qmin, qmax, want);
      EXPECT_EQ(got[0], want[0]) << variant_name(v) << " n " << n;
      EXPECT_EQ(got[1], want[1]) << variant_name(v) << " n " << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, ScaleSearchKernels, ::testing::ValuesIn(all_quantize_variants()),
                         [](const ::testing::TestParamInfo<QuantizeVariant>& info) {
                           return std::string(variant_name(info.param));
                         });

}  // namespace
}  // namespace pte
