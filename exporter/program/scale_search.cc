#include "exporter/program/scale_search.h"

#include <algorithm>
#include <limits>

#include "common/float16.h"

namespace pte {
namespace {

template <bool kHalf>
inline float to_model_dtype(float v) {
  if constexpr (kHalf) return round_to_half_fast(v);
  else return v;
}

// Weighted squared error of the block coded with scale s; stops early (returning a value at
// least `bound`) once the partial sum reaches `bound`, which cannot change the choice.
template <bool kHalf, bool kWeighted>
double block_error(const float* x, int64_t n, const float* w, float s, float qmin, float qmax, double bound) {
  const float recip = to_model_dtype<kHalf>(1.0f / s);
  double err = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::min(std::max(round_half_even_small(to_model_dtype<kHalf>(x[i] * recip)), qmin), qmax);
    const double d = static_cast<double>(x[i]) - static_cast<double>(to_model_dtype<kHalf>(q * s));
    err += kWeighted ? static_cast<double>(w[i]) * d * d : d * d;
    if ((i & 15) == 15 && err >= bound) return err;
  }
  return err;
}

template <bool kHalf, bool kWeighted>
float search(const float* x, int64_t n, const float* w, float amax, float reference, int bits) {
  const double div = bits == 4 ? 7.5 : 127.5;
  const float qmin = bits == 4 ? -8.0f : -128.0f;
  const float qmax = bits == 4 ? 7.0f : 127.0f;
  const float eps = kHalf ? 0x1p-14f : 0x1p-126f;
  float best = reference;
  double best_err = block_error<kHalf, kWeighted>(x, n, w, reference, qmin, qmax,
                                                  std::numeric_limits<double>::infinity());
  for (int percent = kScaleSearchLowest; percent <= kScaleSearchHighest; ++percent) {
    if (percent == 100) continue;  // the reference scale, tried first
    if (best_err == 0) break;
    const float raw = static_cast<float>(static_cast<double>(amax) * percent / (100.0 * div));
    const float s = std::max(to_model_dtype<kHalf>(raw), eps);
    if (s == best) continue;
    const double err = block_error<kHalf, kWeighted>(x, n, w, s, qmin, qmax, best_err);
    if (err < best_err) {
      best_err = err;
      best = s;
    }
  }
  return best;
}

}  // namespace

float ScaleSearch::block_scale(const float* x, int64_t n, int64_t column, float amax, float reference) const {
  if (amax == 0) return reference;
  const float* w = importance ? importance + column : nullptr;
  if (dtype == DType::F16)
    return w ? search<true, true>(x, n, w, amax, reference, bits) : search<true, false>(x, n, w, amax, reference, bits);
  return w ? search<false, true>(x, n, w, amax, reference, bits) : search<false, false>(x, n, w, amax, reference, bits);
}

}  // namespace pte
