#include "exporter/program/scale_search.h"

#include <algorithm>
#include <limits>

#include "common/float16.h"
#include "common/vector_clones.h"
#include "exporter/program/model_dtype_rounding.h"

namespace pte {
namespace {

constexpr int kLanes = 8;    // independent partial sums, added in lane order at the end
constexpr int64_t kStride = 64;  // elements between two checks against the bound

// Weighted squared error of the block coded with scale s. Stops early (returning a value at
// least `bound`) once a partial sum reaches `bound`, which cannot change the choice. The sum
// order is fixed (lane i % 8, lanes added in order), so the result never depends on the CPU.
template <bool kHalf, bool kWeighted>
[[gnu::always_inline]] inline double block_error(const float* x, int64_t n, const float* w, float s, float qmin,
                                                 float qmax, double bound) {
  const float recip = to_model_dtype<kHalf>(1.0f / s);
  double lane[kLanes] = {};
  int64_t i = 0;
  for (int64_t stop = std::min(n, kStride); i < n; stop = std::min(n, stop + kStride)) {
    for (; i + kLanes <= stop; i += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        const float q = std::min(std::max(round_half_even_small(to_model_dtype<kHalf>(x[i + l] * recip)), qmin), qmax);
        const double d = static_cast<double>(x[i + l]) - static_cast<double>(to_model_dtype<kHalf>(q * s));
        lane[l] += kWeighted ? static_cast<double>(w[i + l]) * (d * d) : d * d;
      }
    for (; i < stop; ++i) {
      const float q = std::min(std::max(round_half_even_small(to_model_dtype<kHalf>(x[i] * recip)), qmin), qmax);
      const double d = static_cast<double>(x[i]) - static_cast<double>(to_model_dtype<kHalf>(q * s));
      lane[i % kLanes] += kWeighted ? static_cast<double>(w[i]) * (d * d) : d * d;
    }
    double sum = 0;
    for (int l = 0; l < kLanes; ++l) sum += lane[l];
    if (i == n || sum >= bound) return sum;
  }
  return 0;  // n == 0
}

template <bool kHalf, bool kWeighted>
[[gnu::always_inline]] inline float search(const float* x, int64_t n, const float* w, float amax, float reference,
                                           int bits) {
  const double div = bits == 4 ? 7.5 : 127.5;
  const float qmin = bits == 4 ? -8.0f : -128.0f;
  const float qmax = bits == 4 ? 7.0f : 127.0f;
  const float eps = kHalf ? 0x1p-14f : 0x1p-126f;
  float best = reference;
  int best_percent = 100;
  double best_err = block_error<kHalf, kWeighted>(x, n, w, reference, qmin, qmax,
                                                  std::numeric_limits<double>::infinity());
  auto try_percent = [&](int percent) {
    if (percent == 100 || percent < kScaleSearchLowest || percent > kScaleSearchHighest || best_err == 0) return;
    const float raw = static_cast<float>(static_cast<double>(amax) * percent / (100.0 * div));
    const float s = std::max(to_model_dtype<kHalf>(raw), eps);
    if (s == best) return;
    const double err = block_error<kHalf, kWeighted>(x, n, w, s, qmin, qmax, best_err);
    if (err < best_err) {
      best_err = err;
      best = s;
      best_percent = percent;
    }
  };
  for (int p = kScaleSearchLowest; p <= kScaleSearchHighest; p += kScaleSearchCoarseStep) try_percent(p);
  const int center = best_percent;
  for (int d = 1; d <= kScaleSearchFineReach; ++d) {
    try_percent(center - d);
    try_percent(center + d);
  }
  return best;
}

PTE_VECTOR_CLONES float search_half(const float* x, int64_t n, const float* w, float amax, float reference, int bits) {
  return w ? search<true, true>(x, n, w, amax, reference, bits) : search<true, false>(x, n, w, amax, reference, bits);
}

PTE_VECTOR_CLONES float search_float(const float* x, int64_t n, const float* w, float amax, float reference, int bits) {
  return w ? search<false, true>(x, n, w, amax, reference, bits) : search<false, false>(x, n, w, amax, reference, bits);
}

}  // namespace

float ScaleSearch::block_scale(const float* x, int64_t n, int64_t column, float amax, float reference) const {
  if (amax == 0) return reference;
  const float* w = importance ? importance + column : nullptr;
  return dtype == DType::F16 ? search_half(x, n, w, amax, reference, bits) : search_float(x, n, w, amax, reference, bits);
}

}  // namespace pte
