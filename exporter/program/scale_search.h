#pragma once
// Scale search (`--quant_search mse`): instead of the reference scale T(amax / d), each block
// takes the scale of a fixed candidate grid that minimises its squared reconstruction error
// under the file's dequantization rule (FORMAT.md §5), optionally weighted per input column by
// calibration importances (the mean square of each input channel of the linear).
//   candidates: the reference scale first, then s(p) = max(T(float(amax · p / (100 d))), smallest
//               normal of T) (amax · p / (100 d) in float64, rounded to float32, then to T) for
//               p = 70, 75, .., 110 (factors 0.70 .. 1.10; p = 100 is the reference), then the
//               p within ±2 of the best so far, in the order p−1, p+1, p−2, p+2 (steps of 0.01)
//   codes:      q = clamp(round_half_even(T(x × T(1 / s))), qmin, qmax)  (the reference coding)
//   error:      Σ w_i (x_i − T(q_i × s))², in float64, w_i = 1 without importances
// A candidate replaces the best only with a strictly smaller error (ties keep the earlier one,
// the reference scale first), so the error is never larger than the reference's. The error is
// summed in a fixed order (8 lanes), so it does not depend on the CPU or the thread count.
#include <cstdint>

#include "common/dtype.h"

namespace pte {

struct ScaleSearch {
  int bits;                           // 4 or 8
  DType dtype;                        // T: F16 or F32
  const float* importance = nullptr;  // one weight per column of the tensor; null: all 1

  // The chosen scale (a value of T) for the block x[0..n) starting at `column` of its row, whose
  // largest magnitude is `amax` (finite) and whose reference scale is `reference`.
  float block_scale(const float* x, int64_t n, int64_t column, float amax, float reference) const;
};

// The grid's factors in percent of the reference scale (the grid above).
inline constexpr int kScaleSearchLowest = 70;
inline constexpr int kScaleSearchHighest = 110;
inline constexpr int kScaleSearchCoarseStep = 5;
inline constexpr int kScaleSearchFineReach = 2;

}  // namespace pte
