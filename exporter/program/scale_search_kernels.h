#pragma once
// The inner loop of the scale search (scale_search.h): the error of one block coded with scale
// s, in the fixed summation order every variant shares. Stops early, returning a value of at
// least `bound`, once the partial sum reaches `bound` (which cannot change the choice).
#include <cstdint>

#include "exporter/program/quantize_kernels.h"

namespace pte::detail {

inline constexpr int kScaleSearchLanes = 8;        // float64 partial sums: element i goes to lane i % 8
inline constexpr int64_t kScaleSearchStride = 64;  // elements between two checks against the bound

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
