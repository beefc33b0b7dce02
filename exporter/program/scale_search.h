#pragma once
// Scale search (`--quant_search mse`): instead of the reference scale T(amax / d), each block
// takes the scale of a fixed candidate grid that minimises its squared reconstruction error
// under the file's dequantization rule (FORMAT.md §5), optionally weighted per input column by
// calibration importances (the mean square of each input channel of the linear).
//   candidates: the reference scale first, then max(T(float(amax · p / (100 d))), smallest normal
//               of T) for p = 50, 51, .., 120 except 100 (factors 0.50 .. 1.20 in steps of 0.01;
//               amax · p / (100 d) computed in float64, then rounded to float32 and to T)
//   codes:      q = clamp(round_half_even(T(x × T(1 / s))), qmin, qmax)  (the reference coding)
//   error:      Σ w_i (x_i − T(q_i × s))², in float64, w_i = 1 without importances
// The first candidate with the smallest error wins (ties keep the reference scale), so the
// error is never larger than the reference's. Per block, so thread-count independent.
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
inline constexpr int kScaleSearchLowest = 50;
inline constexpr int kScaleSearchHighest = 120;

}  // namespace pte
