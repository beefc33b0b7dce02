// ScaleSearch::block_scale on random blocks of several shapes (Gaussian, uniform, heavy-tailed,
// on a grid of halves, sparse, log-normal; magnitudes 2^-20 .. 2^14; fp16 and fp32, int4 and
// int8, with and without importances): the chosen scale's error, computed by the float64 block
// error (itself checked by hand in scale_search_kernels_test.cc), is never above the reference
// scale's, and most blocks gain.
#include "exporter/program/scale_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/float16.h"
#include "exporter/program/scale_search_kernels.h"

namespace pte {
namespace {

float random_value(int kind, std::mt19937& rng) {
  switch (kind) {
    case 0: return std::normal_distribution<float>(0.0f, 1.0f)(rng);
    case 1: return std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
    case 2: return std::student_t_distribution<float>(2.0f)(rng);
    case 3: return std::round(std::uniform_real_distribution<float>(-8.0f, 8.0f)(rng)) / 2;
    case 4: return rng() % 4 == 0 ? std::normal_distribution<float>(0.0f, 1.0f)(rng) : 0.0f;
    default: return std::exp(std::normal_distribution<float>(0.0f, 2.0f)(rng)) * (rng() % 2 ? 1.0f : -1.0f);
  }
}

TEST(ScaleSearch, NoBlockIsWorseThanWithTheReferenceScale) {
  std::mt19937 rng(11);
  const double inf = std::numeric_limits<double>::infinity();
  const int64_t sizes[] = {8, 32, 33, 64, 128, 257, 2048};
  for (const bool half : {true, false})
    for (const bool weighted : {false, true}) {
      int blocks = 0, gains = 0;
      for (int trial = 0; trial < 3000; ++trial) {
        const int64_t n = sizes[trial % 7];
        const int bits = (trial / 7) % 2 ? 8 : 4;
        const int kind = (trial / 14) % 6;
        const float magnitude = std::exp2(std::uniform_real_distribution<float>(-20.0f, 14.0f)(rng));
        std::vector<float> x(static_cast<size_t>(n)), w(static_cast<size_t>(n));
        float amax = 0;
        for (int64_t i = 0; i < n; ++i) {
          float v = random_value(kind, rng) * magnitude;
          if (half) v = half_to_float(float_to_half(v));
          if (!std::isfinite(v)) v = 0;
          x[static_cast<size_t>(i)] = v;
          w[static_cast<size_t>(i)] = std::exp(std::normal_distribution<float>(0.0f, 2.0f)(rng));
          amax = std::max(amax, std::fabs(v));
        }
        if (amax == 0) continue;
        const float div = bits == 4 ? 7.5f : 127.5f, qmin = bits == 4 ? -8.0f : -128.0f, qmax = -qmin - 1;
        float reference = std::max(amax / div, half ? 0x1p-14f : 0x1p-126f);
        if (half) reference = std::max(half_to_float(float_to_half(amax / div)), 0x1p-14f);
        const float* importance = weighted ? w.data() : nullptr;
        const ScaleSearch search{bits, half ? DType::F16 : DType::F32, importance};
        const float s = search.block_scale(x.data(), n, 0, amax, reference);
        const double e = detail::block_error_portable(x.data(), n, importance, s, qmin, qmax, inf, half);
        const double e_ref = detail::block_error_portable(x.data(), n, importance, reference, qmin, qmax, inf, half);
        ASSERT_LE(e, e_ref) << "trial " << trial << " n " << n << " bits " << bits << " kind " << kind
                            << " half " << half << " weighted " << weighted;
        ++blocks;
        gains += e < e_ref;
      }
      EXPECT_GT(gains, blocks / 2) << "half " << half << " weighted " << weighted;
    }
}

}  // namespace
}  // namespace pte
