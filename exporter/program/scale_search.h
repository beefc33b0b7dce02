#pragma once
// Scale search (`--quant_search mse`): instead of the reference scale T(amax / d), each block
// takes the scale of a fixed candidate grid that minimises its squared reconstruction error
// under the file's dequantization rule (FORMAT.md §5), optionally weighted per input column by
// calibration importances (the mean square of each input channel of the linear).
//   candidates: the reference scale first, then s(p) = max(T(float(amax · p / (100 d))), smallest
//               normal of T) (amax · p / (100 d) in float64, rounded to float32, then to T) for
//               p = 70, 75, .., 110 (factors 0.70 .. 1.10; p = 100 is the reference), then the
//               p within ±2 of the best so far, in the order p−1, p+1, p−2, p+2 (steps of 0.01);
//               a candidate whose scale equals an earlier one's is skipped
//   codes:      q = clamp(round_half_even(T(x × T(1 / s))), qmin, qmax)  (the reference coding)
//   error:      E(s) = Σ w_i (x_i − T(q_i × s))², w_i = 1 without importances
// The candidates are ranked by a screening error, E without its two roundings to T, in float32:
//   Σ w_i (x_i − q'_i × s)², q'_i = clamp(round_half_even(x_i × T(1 / s)), qmin, qmax), each term
//   added to float32 lane i % 8 of the candidate, the float32 lanes added to float64 lanes every
//   128 elements, those added in lane order at the end.
// The best screened candidate (ties keep the earlier; the best of the coarse grid centres the
// fine steps) replaces the reference only when its error E is smaller than the reference's. For
// fp16 without importances E is compared as float32 sums in the screening's lanes, which must be
// smaller by a factor 1 − 2^-16 (their rounding is below 1e-6: the differences of fp16 values are
// exact); otherwise in float64 (8 lanes, fixed order), where the second best screened candidate
// then gets the same chance against the scale kept so far. So no block's error is ever larger
// than the reference's. (It skips that comparison when the screening sums alone prove it: fp16, no
// importances, the bound of clearly_better in scale_search.cc.) The sums have a fixed order, so
// the scale does not depend on the CPU or the thread count.
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
