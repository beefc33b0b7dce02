// The scale search's block error with AVX2 and F16C, compiled for those instruction sets for
// this file only and called only when the CPU has them (scale_search.cc). It computes exactly
// what the portable loop computes: the same float operations element by element (F16C's
// conversions round to nearest even, like round_to_half_fast; _mm256_round_ps to nearest even,
// like round_half_even_small), and element i added to float64 lane i % 8, the lanes summed in
// order at each check. Vector lanes 0-3 and 4-7 are those lanes.
#include <immintrin.h>

#include <algorithm>

#include "exporter/program/scale_search_kernels.h"

namespace pte::detail {
namespace {

template <bool kHalf>
__m256 to_model_dtype8(__m256 v) {
  if constexpr (kHalf) return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  else return v;
}

// Whole steps of 8 elements of [i, stop) added to the lanes; returns where it stopped.
template <bool kHalf, bool kWeighted>
int64_t vector_steps(const float* x, const float* w, int64_t i, int64_t stop, float recip, float s, float qmin,
                     float qmax, double* lane) {
  const __m256 vrecip = _mm256_set1_ps(recip), vs = _mm256_set1_ps(s);
  const __m256 vmin = _mm256_set1_ps(qmin), vmax = _mm256_set1_ps(qmax);
  __m256d lo = _mm256_load_pd(lane), hi = _mm256_load_pd(lane + 4);
  for (; i + kScaleSearchLanes <= stop; i += kScaleSearchLanes) {
    const __m256 xv = _mm256_loadu_ps(x + i);
    __m256 q = _mm256_round_ps(to_model_dtype8<kHalf>(_mm256_mul_ps(xv, vrecip)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm256_min_ps(_mm256_max_ps(q, vmin), vmax);
    const __m256 deq = to_model_dtype8<kHalf>(_mm256_mul_ps(q, vs));
    const __m256d d_lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)),
                                       _mm256_cvtps_pd(_mm256_castps256_ps128(deq)));
    const __m256d d_hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)),
                                       _mm256_cvtps_pd(_mm256_extractf128_ps(deq, 1)));
    __m256d e_lo = _mm256_mul_pd(d_lo, d_lo), e_hi = _mm256_mul_pd(d_hi, d_hi);
    if constexpr (kWeighted) {
      const __m256 wv = _mm256_loadu_ps(w + i);
      e_lo = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(wv)), e_lo);
      e_hi = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(wv, 1)), e_hi);
    }
    lo = _mm256_add_pd(lo, e_lo);
    hi = _mm256_add_pd(hi, e_hi);
  }
  _mm256_store_pd(lane, lo);
  _mm256_store_pd(lane + 4, hi);
  return i;
}

// Screening: whole steps of 8 elements of [i, stop) added to the float32 lanes of K candidates.
template <int K, bool kWeighted>
int64_t screen_steps(const float* x, const float* w, int64_t i, int64_t stop, const float* recip, const float* s,
                     float qmin, float qmax, float (*acc)[kScaleSearchLanes]) {
  const __m256 vmin = _mm256_set1_ps(qmin), vmax = _mm256_set1_ps(qmax);
  __m256 vrecip[K], vs[K], vacc[K];
  for (int c = 0; c < K; ++c) {
    vrecip[c] = _mm256_set1_ps(recip[c]);
    vs[c] = _mm256_set1_ps(s[c]);
    vacc[c] = _mm256_load_ps(acc[c]);
  }
  for (; i + kScaleSearchLanes <= stop; i += kScaleSearchLanes) {
    const __m256 xv = _mm256_loadu_ps(x + i);
    for (int c = 0; c < K; ++c) {
      const __m256 y = _mm256_mul_ps(xv, vrecip[c]);
      const __m256 q = _mm256_min_ps(
          _mm256_max_ps(_mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), vmin), vmax);
      const __m256 d = _mm256_sub_ps(xv, _mm256_mul_ps(q, vs[c]));
      __m256 t = _mm256_mul_ps(d, d);
      if constexpr (kWeighted) t = _mm256_mul_ps(_mm256_loadu_ps(w + i), t);
      vacc[c] = _mm256_add_ps(vacc[c], t);
    }
  }
  for (int c = 0; c < K; ++c) _mm256_store_ps(acc[c], vacc[c]);
  return i;
}

// Verification: whole steps of 8 elements of [i, stop) added to the float32 lanes of two fp16 scales.
int64_t verify_steps(const float* x, int64_t i, int64_t stop, const float* s, const float* recip, float qmin,
                     float qmax, float (*acc)[kScaleSearchLanes]) {
  const __m256 vmin = _mm256_set1_ps(qmin), vmax = _mm256_set1_ps(qmax);
  const __m256 r0 = _mm256_set1_ps(recip[0]), r1 = _mm256_set1_ps(recip[1]);
  const __m256 s0 = _mm256_set1_ps(s[0]), s1 = _mm256_set1_ps(s[1]);
  __m256 a0 = _mm256_load_ps(acc[0]), a1 = _mm256_load_ps(acc[1]);
  auto term = [&](__m256 xv, __m256 r, __m256 sv) {
    __m256 q = _mm256_round_ps(to_model_dtype8<true>(_mm256_mul_ps(xv, r)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm256_min_ps(_mm256_max_ps(q, vmin), vmax);
    const __m256 d = _mm256_sub_ps(xv, to_model_dtype8<true>(_mm256_mul_ps(q, sv)));
    return _mm256_mul_ps(d, d);
  };
  for (; i + kScaleSearchLanes <= stop; i += kScaleSearchLanes) {
    const __m256 xv = _mm256_loadu_ps(x + i);
    a0 = _mm256_add_ps(a0, term(xv, r0, s0));
    a1 = _mm256_add_ps(a1, term(xv, r1, s1));
  }
  _mm256_store_ps(acc[0], a0);
  _mm256_store_ps(acc[1], a1);
  return i;
}

}  // namespace

void verify_avx2(const float* x, int64_t n, const float* s, float qmin, float qmax, double* sum) {
  verify_in_order(x, n, s, qmin, qmax, sum,
                  [&](int64_t i, int64_t stop, const float* recip, float (*acc)[kScaleSearchLanes]) {
                    return verify_steps(x, i, stop, s, recip, qmin, qmax, acc);
                  });
}

void screen_avx2(const float* x, int64_t n, const float* w, const float* recip, const float* s, int k, float qmin,
                 float qmax, double* sum) {
  with_screen_kind(k, w, [&](auto count, auto weighted) {
    constexpr int K = decltype(count)::value;
    constexpr bool kWeighted = decltype(weighted)::value;
    screen_in_order<K, kWeighted>(x, n, w, recip, s, qmin, qmax, sum,
                                  [&](int64_t i, int64_t stop, float (*acc)[kScaleSearchLanes]) {
                                    return screen_steps<K, kWeighted>(x, w, i, stop, recip, s, qmin, qmax, acc);
                                  });
  });
}

double block_error_avx2(const float* x, int64_t n, const float* w, float s, float qmin, float qmax, double bound,
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
