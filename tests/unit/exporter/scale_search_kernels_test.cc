// The scale search's block error, every variant the CPU runs, on hand-computed cases: codes that
// are exact multiples of the scale cost nothing, a clipped element and a rounded one cost their
// squared distance (times the importance), at positions in vector bodies and tails of odd sizes.
#include "exporter/program/scale_search_kernels.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>


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

INSTANTIATE_TEST_SUITE_P(Variants, ScaleSearchKernels, ::testing::ValuesIn(all_quantize_variants()),
                         [](const ::testing::TestParamInfo<QuantizeVariant>& info) {
                           return std::string(variant_name(info.param));
                         });

}  // namespace
}  // namespace pte
