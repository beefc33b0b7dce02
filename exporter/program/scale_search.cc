#include "exporter/program/scale_search.h"

#include <algorithm>
#include <limits>

#include "common/float16.h"
#include "common/vector_clones.h"
#include "exporter/program/scale_search_kernels.h"
#include "exporter/program/model_dtype_rounding.h"

namespace pte {
namespace {

template <bool kHalf>
float search(const float* x, int64_t n, const float* w, float amax, float reference, int bits) {
  static const detail::BlockErrorFn block_error = detail::block_error_of(best_quantize_variant());
  const double div = bits == 4 ? 7.5 : 127.5;
  const float qmin = bits == 4 ? -8.0f : -128.0f;
  const float qmax = bits == 4 ? 7.0f : 127.0f;
  const float eps = kHalf ? 0x1p-14f : 0x1p-126f;
  float best = reference;
  int best_percent = 100;
  double best_err = block_error(x, n, w, reference, qmin, qmax, std::numeric_limits<double>::infinity(), kHalf);
  auto try_percent = [&](int percent) {
    if (percent == 100 || percent < kScaleSearchLowest || percent > kScaleSearchHighest || best_err == 0) return;
    const float raw = static_cast<float>(static_cast<double>(amax) * percent / (100.0 * div));
    const float s = std::max(to_model_dtype<kHalf>(raw), eps);
    if (s == best) return;
    const double err = block_error(x, n, w, s, qmin, qmax, best_err, kHalf);
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

}  // namespace

namespace detail {
PTE_VECTOR_CLONES double block_error_portable(const float* x, int64_t n, const float* w, float s, float qmin,
                                              float qmax, double bound, bool half) {
  return with_block_kind(half, w, [&](auto h, auto weighted) {
    return block_error_in_order<decltype(h)::value, decltype(weighted)::value>(
        x, n, w, s, qmin, qmax, bound, [](int64_t i, int64_t, float, double*) { return i; });
  });
}

BlockErrorFn block_error_of(QuantizeVariant variant) {
#if defined(PTE_QUANTIZE_X86_KERNELS)
  if (variant == QuantizeVariant::Avx2 && cpu_supports(variant)) return block_error_avx2;
  if (variant == QuantizeVariant::Avx512 && cpu_supports(variant)) return block_error_avx512;
#endif
  (void)variant;
  return block_error_portable;
}
}  // namespace detail

float ScaleSearch::block_scale(const float* x, int64_t n, int64_t column, float amax, float reference) const {
  if (amax == 0) return reference;
  const float* w = importance ? importance + column : nullptr;
  return dtype == DType::F16 ? search<true>(x, n, w, amax, reference, bits) : search<false>(x, n, w, amax, reference, bits);
}

}  // namespace pte
