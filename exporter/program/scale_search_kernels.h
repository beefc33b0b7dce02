#pragma once
// The inner loop of the scale search (scale_search.h): the error of one block coded with scale
// s, in the fixed summation order every variant shares. Stops early, returning a value of at
// least `bound`, once the partial sum reaches `bound` (which cannot change the choice).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "common/float16.h"
#include "exporter/program/model_dtype_rounding.h"
#include "exporter/program/quantize_kernels.h"

namespace pte::detail {

inline constexpr int kScaleSearchLanes = 8;        // float64 partial sums: element i goes to lane i % 8
inline constexpr int64_t kScaleSearchStride = 64;  // elements between two checks against the bound

// The definition every variant computes: element i of the block coded with scale s
// (recip = T(1 / s)), its squared error (times its importance) added to lane i % 8.
template <bool kHalf, bool kWeighted>
[[gnu::always_inline]] inline void add_element_error(const float* x, const float* w, int64_t i, float recip, float s,
                                                     float qmin, float qmax, double* lane) {
  const float q = std::min(std::max(round_half_even_small(to_model_dtype<kHalf>(x[i] * recip)), qmin), qmax);
  const double d = static_cast<double>(x[i]) - static_cast<double>(to_model_dtype<kHalf>(q * s));
  lane[i % kScaleSearchLanes] += kWeighted ? static_cast<double>(w[i]) * (d * d) : d * d;
}

// The block error in the shared order: every kScaleSearchStride elements, `vector_steps(i, stop,
// recip, lane)` may add whole vector steps of [i, stop) to the lanes (in element order per lane)
// and returns where it stopped; the rest of [i, stop) is added element by element, then the lanes
// are summed in order and compared with the bound.
template <bool kHalf, bool kWeighted, typename VectorSteps>
[[gnu::always_inline]] inline double block_error_in_order(const float* x, int64_t n, const float* w, float s,
                                                          float qmin, float qmax, double bound,
                                                          VectorSteps vector_steps) {
  const float recip = to_model_dtype<kHalf>(1.0f / s);
  alignas(64) double lane[kScaleSearchLanes] = {};
  int64_t i = 0;
  for (int64_t stop = std::min(n, kScaleSearchStride); i < n; stop = std::min(n, stop + kScaleSearchStride)) {
    i = vector_steps(i, stop, recip, lane);
    for (; i < stop; ++i) add_element_error<kHalf, kWeighted>(x, w, i, recip, s, qmin, qmax, lane);
    double sum = 0;
    for (int l = 0; l < kScaleSearchLanes; ++l) sum += lane[l];
    if (i == n || sum >= bound) return sum;
  }
  return 0;  // n == 0
}

// Calls kernel(std::bool_constant<half>, std::bool_constant<w != null>).
template <typename Kernel>
[[gnu::always_inline]] inline double with_block_kind(bool half, const float* w, Kernel kernel) {
  if (half) return w ? kernel(std::true_type{}, std::true_type{}) : kernel(std::true_type{}, std::false_type{});
  return w ? kernel(std::false_type{}, std::true_type{}) : kernel(std::false_type{}, std::false_type{});
}

// `w`: one importance per element, or null; `half`: T is fp16 (else fp32).
double block_error_portable(const float* x, int64_t n, const float* w, float s, float qmin, float qmax,
                            double bound, bool half);
// The same with AVX2 and F16C (call only when the CPU has them).
double block_error_avx2(const float* x, int64_t n, const float* w, float s, float qmin, float qmax, double bound,
                        bool half);
// The same with AVX-512F (call only when the CPU has it).
double block_error_avx512(const float* x, int64_t n, const float* w, float s, float qmin, float qmax, double bound,
                          bool half);

// The variant's function (the portable one when the CPU or the build lacks the variant).
using BlockErrorFn = double (*)(const float* x, int64_t n, const float* w, float s, float qmin, float qmax,
                                double bound, bool half);
BlockErrorFn block_error_of(QuantizeVariant variant);

}  // namespace pte::detail
