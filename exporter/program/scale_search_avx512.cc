// The scale search's block error with AVX-512F, compiled for it for this file only and called
// only when the CPU has it (scale_search.cc). It computes exactly what the portable loop
// computes: the same float operations element by element (the fp16 conversions round to nearest
// even, like round_to_half_fast; roundscale to nearest even, like round_half_even_small), and
// element i added to float64 lane i % 8, the lanes summed in order at each check: 16 elements
// are two steps of the 8 lanes, the first 8 elements, then the next 8.
#include <immintrin.h>

#include <algorithm>

#include "exporter/program/scale_search_kernels.h"

namespace pte::detail {
namespace {

template <bool kHalf>
__m512 to_model_dtype16(__m512 v) {
  if constexpr (kHalf) return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  else return v;
}

__m256 low_half(__m512 v) { return _mm512_castps512_ps256(v); }
__m256 high_half(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

// Whole steps of 16 elements of [i, stop) added to the lanes; returns where it stopped.
template <bool kHalf, bool kWeighted>
int64_t vector_steps(const float* x, const float* w, int64_t i, int64_t stop, float recip, float s, float qmin,
                     float qmax, double* lane) {
  const __m512 vrecip = _mm512_set1_ps(recip), vs = _mm512_set1_ps(s);
  const __m512 vmin = _mm512_set1_ps(qmin), vmax = _mm512_set1_ps(qmax);
  __m512d lanes = _mm512_load_pd(lane);
  for (; i + 2 * kScaleSearchLanes <= stop; i += 2 * kScaleSearchLanes) {
    const __m512 xv = _mm512_loadu_ps(x + i);
    __m512 q = _mm512_roundscale_ps(to_model_dtype16<kHalf>(_mm512_mul_ps(xv, vrecip)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_ps(_mm512_max_ps(q, vmin), vmax);
    const __m512 deq = to_model_dtype16<kHalf>(_mm512_mul_ps(q, vs));
    const __m512d d_lo = _mm512_sub_pd(_mm512_cvtps_pd(low_half(xv)), _mm512_cvtps_pd(low_half(deq)));
    const __m512d d_hi = _mm512_sub_pd(_mm512_cvtps_pd(high_half(xv)), _mm512_cvtps_pd(high_half(deq)));
    __m512d e_lo = _mm512_mul_pd(d_lo, d_lo), e_hi = _mm512_mul_pd(d_hi, d_hi);
    if constexpr (kWeighted) {
      const __m512 wv = _mm512_loadu_ps(w + i);
      e_lo = _mm512_mul_pd(_mm512_cvtps_pd(low_half(wv)), e_lo);
      e_hi = _mm512_mul_pd(_mm512_cvtps_pd(high_half(wv)), e_hi);
    }
    lanes = _mm512_add_pd(_mm512_add_pd(lanes, e_lo), e_hi);
  }
  _mm512_store_pd(lane, lanes);
  return i;
}

}  // namespace

double block_error_avx512(const float* x, int64_t n, const float* w, float s, float qmin, float qmax, double bound,
                        bool half) {
  return with_block_kind(half, w, [&](auto h, auto weighted) {
    constexpr bool kHalf = decltype(h)::value, kWeighted = decltype(weighted)::value;
    return block_error_in_order<kHalf, kWeighted>(
        x, n, w, s, qmin, qmax, bound, [&](int64_t i, int64_t stop, float recip, double* lane) {
          return vector_steps<kHalf, kWeighted>(x, w, i, stop, recip, s, qmin, qmax, lane);
        });
  });
}

}  // namespace pte::detail
