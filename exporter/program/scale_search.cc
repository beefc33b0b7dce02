#include "exporter/program/scale_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/float16.h"
#include "common/vector_clones.h"
#include "exporter/program/scale_search_kernels.h"
#include "exporter/program/model_dtype_rounding.h"

namespace pte {
namespace {

constexpr int kCandidates = (kScaleSearchHighest - kScaleSearchLowest) / kScaleSearchCoarseStep + 1 +
                            2 * kScaleSearchFineReach;

// The fp16 verification's float32 sums are within 17 roundings (about 1e-6) of the exact error:
// x − T(q × s) is exact (x when q = 0, else two fp16 values of one sign within a factor of about
// 2 of each other: at most 13 significant bits), its square and the 16 terms of a float32 lane
// round once each. A margin well above that makes the comparison as safe as the float64 one.
constexpr double kVerifyMargin = 0x1p-16;

// For fp16 without importances: whether the screening sums alone prove that scale a's error E is
// below scale b's. Per element, the screening's |x − q' s| and the file's |x − T(q s)| differ by
// at most δ(s) = 2^-11 (4 amax + Q s): T(x × T(1/s)) is within 2^-11 |y| of y = x × T(1/s), so
// when the codes q and q' differ, y is that close to the half-integer between them (≤ 4 |x| 2^-11
// once back from code units), and T(q s) is within 2^-11 |q s| ≤ 2^-11 Q s of q s (Q = 8 or 128;
// q s < 2^15 · 1.2, no overflow). By Minkowski's inequality √E lies within √n δ(s) of the
// screening's root sum, whose float32 sums (exact differences, 17 roundings) are within 2^-19 of
// it. The constants are rounded up (4.5, 2^-19) to absorb the float64 arithmetic here.
bool clearly_better(double screened_a, float a, double screened_b, float b, int64_t n, float amax, double q) {
  constexpr double kRounding = 0x1p-19;
  const double root_n = std::sqrt(static_cast<double>(n));
  auto slack = [&](float s) { return root_n * 0x1p-11 * (4.5 * amax + q * s); };
  return std::sqrt(screened_a / (1 - kRounding)) + slack(a) < std::sqrt(screened_b / (1 + kRounding)) - slack(b);
}

template <bool kHalf>
float search(const float* x, int64_t n, const float* w, float amax, float reference, int bits) {
  static const detail::BlockErrorFn block_error = detail::block_error_of(best_quantize_variant());
  static const detail::ScreenFn screen = detail::screen_of(best_quantize_variant());
  const double div = bits == 4 ? 7.5 : 127.5;
  const float qmin = bits == 4 ? -8.0f : -128.0f;
  const float qmax = bits == 4 ? 7.0f : 127.0f;
  const float eps = kHalf ? 0x1p-14f : 0x1p-126f;
  float scale[kCandidates];
  int percent[kCandidates];
  double error[kCandidates];
  int count = 0, screened = 0, best = 0;
  auto add = [&](int p) {
    if (p < kScaleSearchLowest || p > kScaleSearchHighest) return;
    const float raw = static_cast<float>(static_cast<double>(amax) * p / (100.0 * div));
    const float s = p == 100 ? reference : std::max(to_model_dtype<kHalf>(raw), eps);
    for (int c = 0; c < count; ++c)
      if (scale[c] == s) return;  // the same error: it could not win
    scale[count] = s;
    percent[count++] = p;
  };
  auto screen_added = [&] {
    for (; screened < count;) {
      const int k = std::min(count - screened, detail::kScreenMax);
      float recip[detail::kScreenMax];
      double sum[detail::kScreenMax];
      for (int c = 0; c < k; ++c) recip[c] = to_model_dtype<kHalf>(1.0f / scale[screened + c]);
      screen(x, n, w, recip, scale + screened, k, qmin, qmax, sum);
      for (int c = 0; c < k; ++c, ++screened) {
        error[screened] = sum[c];
        if (error[screened] < error[best]) best = screened;
      }
    }
  };
  add(100);
  for (int p = kScaleSearchLowest; p <= kScaleSearchHighest; p += kScaleSearchCoarseStep) add(p);
  screen_added();
  const int center = percent[best];
  for (int d = 1; d <= kScaleSearchFineReach; ++d) {
    add(center - d);
    add(center + d);
  }
  screen_added();
  if (best == 0) return reference;
  if (kHalf && !w && amax < 0x1p15f && clearly_better(error[best], scale[best], error[0], reference, n, amax, -qmin))
    return scale[best];
  if (kHalf && !w) {
    static const detail::VerifyFn verify = detail::verify_of(best_quantize_variant());
    const float pair[2] = {reference, scale[best]};
    double sum[2];
    verify(x, n, pair, qmin, qmax, sum);
    return sum[1] < sum[0] * (1 - kVerifyMargin) ? scale[best] : reference;
  }
  // In float64, the runner-up too: with importances a few columns can weigh more than the
  // screening's omissions, and one more pass is cheap next to the old exact search.
  int second = -1;
  for (int c = 1; c < count; ++c)
    if (c != best && (second < 0 || error[c] < error[second])) second = c;
  float chosen = reference;
  double chosen_error = block_error(x, n, w, reference, qmin, qmax, std::numeric_limits<double>::infinity(), kHalf);
  for (const int c : {best, second}) {
    if (c < 0) continue;
    const double e = block_error(x, n, w, scale[c], qmin, qmax, chosen_error, kHalf);
    if (e < chosen_error) {
      chosen_error = e;
      chosen = scale[c];
    }
  }
  return chosen;
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

PTE_VECTOR_CLONES void screen_portable(const float* x, int64_t n, const float* w, const float* recip,
                                       const float* s, int k, float qmin, float qmax, double* sum) {
  with_screen_kind(k, w, [&](auto count, auto weighted) {
    screen_in_order<decltype(count)::value, decltype(weighted)::value>(
        x, n, w, recip, s, qmin, qmax, sum, [](int64_t i, int64_t, float (*)[kScaleSearchLanes]) { return i; });
  });
}

PTE_VECTOR_CLONES void verify_portable(const float* x, int64_t n, const float* s, float qmin, float qmax,
                                       double* sum) {
  verify_in_order(x, n, s, qmin, qmax, sum,
                  [](int64_t i, int64_t, const float*, float (*)[kScaleSearchLanes]) { return i; });
}

VerifyFn verify_of(QuantizeVariant variant) {
#if defined(PTE_QUANTIZE_X86_KERNELS)
  if (variant != QuantizeVariant::Portable && cpu_supports(QuantizeVariant::Avx2)) return verify_avx2;
#endif
  (void)variant;
  return verify_portable;
}

ScreenFn screen_of(QuantizeVariant variant) {
#if defined(PTE_QUANTIZE_X86_KERNELS)
  if (variant != QuantizeVariant::Portable && cpu_supports(QuantizeVariant::Avx2)) return screen_avx2;
#endif
  (void)variant;
  return screen_portable;
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
