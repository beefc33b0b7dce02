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

// The screening error (scale_search.h) of kScreenMax candidates at most, whose reciprocals
// float(1 / s) are recip[0..k): element i's y = x_i × recip in float32, its code q =
// clamp(round_half_even(y)), e = y − q, and e² (times w_i) added to float32 lane i % 8 of the
// candidate; every kScreenStride elements the float32 lanes are added to float64 lanes and reset.
inline constexpr int kScreenMax = 5;
inline constexpr int64_t kScreenStride = 128;

template <bool kWeighted>
[[gnu::always_inline]] inline float screen_element(const float* x, const float* w, int64_t i, float recip, float s,
                                                    float qmin, float qmax) {
  const float q = std::min(std::max(round_half_even_small(x[i] * recip), qmin), qmax);
  const float d = x[i] - q * s;
  return kWeighted ? w[i] * (d * d) : d * d;
}

// The verification term (scale_search.h) of an fp16 element: its squared error under the
// file's coding (recip = T(1 / s)), in float32.
[[gnu::always_inline]] inline float verify_element(const float* x, int64_t i, float recip, float s, float qmin,
                                                    float qmax) {
  const float q = std::min(std::max(round_half_even_small(to_model_dtype<true>(x[i] * recip)), qmin), qmax);
  const float d = x[i] - to_model_dtype<true>(q * s);
  return d * d;
}

// K sums of float32 terms into sum[0..K) in the shared order: every kScreenStride elements,
// `vector_steps(i, stop, acc)` may add whole vector steps of [i, stop) to the float32 lanes
// acc[c][l] (in element order per lane) and returns where it stopped; the rest of [i, stop) is
// added element by element (`term(c, i)`); then the float32 lanes are added to the float64 lanes
// and reset. At the end the float64 lanes are added in lane order.
template <int K, typename Term, typename VectorSteps>
[[gnu::always_inline]] inline void float_lanes_in_order(int64_t n, double* sum, Term term, VectorSteps vector_steps) {
  alignas(32) float acc[K][kScaleSearchLanes];
  alignas(32) double lane[K][kScaleSearchLanes] = {};
  for (int64_t i = 0; i < n;) {
    const int64_t stop = std::min(n, i + kScreenStride);
    for (int c = 0; c < K; ++c)
      for (int l = 0; l < kScaleSearchLanes; ++l) acc[c][l] = 0.0f;
    i = vector_steps(i, stop, acc);
    for (; i < stop; ++i)
      for (int c = 0; c < K; ++c) acc[c][i % kScaleSearchLanes] += term(c, i);
    for (int c = 0; c < K; ++c)
      for (int l = 0; l < kScaleSearchLanes; ++l) lane[c][l] += static_cast<double>(acc[c][l]);
  }
  for (int c = 0; c < K; ++c) {
    double total = 0;
    for (int l = 0; l < kScaleSearchLanes; ++l) total += lane[c][l];
    sum[c] = total;
  }
}

template <int K, bool kWeighted, typename VectorSteps>
[[gnu::always_inline]] inline void screen_in_order(const float* x, int64_t n, const float* w, const float* recip,
                                                   const float* s, float qmin, float qmax, double* sum,
                                                   VectorSteps vector_steps) {
  float_lanes_in_order<K>(
      n, sum, [&](int c, int64_t i) { return screen_element<kWeighted>(x, w, i, recip[c], s[c], qmin, qmax); },
      vector_steps);
}

// The verification sums of the scales s[0], s[1] (fp16, no importances).
template <typename VectorSteps>
[[gnu::always_inline]] inline void verify_in_order(const float* x, int64_t n, const float* s, float qmin, float qmax,
                                                   double* sum, VectorSteps vector_steps) {
  const float recip[2] = {to_model_dtype<true>(1.0f / s[0]), to_model_dtype<true>(1.0f / s[1])};
  float_lanes_in_order<2>(
      n, sum, [&](int c, int64_t i) { return verify_element(x, i, recip[c], s[c], qmin, qmax); },
      [&](int64_t i, int64_t stop, float (*acc)[kScaleSearchLanes]) { return vector_steps(i, stop, recip, acc); });
}

// Calls kernel(std::integral_constant<int, k>, std::bool_constant<w != null>) for 1 <= k <= kScreenMax.
template <typename Kernel>
[[gnu::always_inline]] inline void with_screen_kind(int k, const float* w, Kernel kernel) {
  auto weighted = [&](auto count) {
    if (w) kernel(count, std::true_type{});
    else kernel(count, std::false_type{});
  };
  switch (k) {
    case 1: return weighted(std::integral_constant<int, 1>{});
    case 2: return weighted(std::integral_constant<int, 2>{});
    case 3: return weighted(std::integral_constant<int, 3>{});
    case 4: return weighted(std::integral_constant<int, 4>{});
    default: return weighted(std::integral_constant<int, 5>{});
  }
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

// The screening sums of k (1..kScreenMax) candidates; portable, and with AVX2 (also the AVX-512
// CPUs' choice: the sums are the same and the loop is not memory bound).
void screen_portable(const float* x, int64_t n, const float* w, const float* recip, const float* s, int k,
                     float qmin, float qmax, double* sum);
void screen_avx2(const float* x, int64_t n, const float* w, const float* recip, const float* s, int k, float qmin,
                 float qmax, double* sum);
using ScreenFn = void (*)(const float* x, int64_t n, const float* w, const float* recip, const float* s, int k,
                          float qmin, float qmax, double* sum);
ScreenFn screen_of(QuantizeVariant variant);

// The verification sums of the two fp16 scales s[0], s[1] (no importances), the same way.
void verify_portable(const float* x, int64_t n, const float* s, float qmin, float qmax, double* sum);
void verify_avx2(const float* x, int64_t n, const float* s, float qmin, float qmax, double* sum);
using VerifyFn = void (*)(const float* x, int64_t n, const float* s, float qmin, float qmax, double* sum);
VerifyFn verify_of(QuantizeVariant variant);

}  // namespace pte::detail
