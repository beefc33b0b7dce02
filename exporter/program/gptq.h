#pragma once
// GPTQ codes (`--quant_search gptq`, with --calibration): the same file layout and dequantization
// rule as the reference (FORMAT.md §5: T(q × scale), one scale per row or per group), but the
// codes of a row are chosen one column at a time, each column's rounding error spread over the
// columns not yet coded in proportion to how the calibration inputs correlate them
// (Frantar et al., "GPTQ", 2022), so that the linear's output on those inputs moves least.
//
// Statistics: for every linear input, H = Σ x xᵀ over the calibration tokens, kept block
// diagonal (blocks of kGptqBlock columns): an exact H of a 14336-wide input would take 1.6 GB.
// Per block, Hd = H/tokens + λI with λ = kGptqDamp × the mean of diag(H/tokens) over the row (a
// column no token reached gets that mean on its diagonal), and U is the upper Cholesky factor of
// Hd⁻¹ (Hd⁻¹ = UᵀU).
// Coding one row with scale rule s (per row: s(p) of scale_search.h from the row's amax; per
// group: s(p) from the amax of the group's current values when its first column is reached):
//   w = x (float32); for each column j of a block, in order:
//     q_j = clamp(round_half_even(T(w_j × T(1 / s))), qmin, qmax)               (reference coding)
//     e_j = (w_j − T(q_j × s)) × (1 / U_jj) in float64
//     w_k −= float(e_j) × float(U_jk) in float32 for the block's later columns k
//   its error is Σ e_j² (float64), which equals (x − x̂)ᵀ Hd (x − x̂) for the dequantized row x̂
//   up to the float32 rounding of the updates.
// Candidates per row, in order: the reference coding (its error (x − x̂)ᵀ Hd (x − x̂), computed),
// then GPTQ with s(p) for p in kGptqPercents (p = 100: the reference rule). A candidate wins
// only with a strictly smaller error, so no row's calibration-weighted error is larger than the
// reference coding's. Every sum runs in column order in float64: the result does not depend on
// the CPU or the thread count.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "exporter/program/quantize.h"

namespace pte {

inline constexpr int64_t kGptqBlock = 128;
inline constexpr double kGptqDamp = 0.01;
// The scale factors GPTQ tries, in percent, nearest the reference first: an early good error
// lets the later candidates stop sooner (the choice is the same in any order but for ties).
inline constexpr int kGptqPercents[] = {100, 95, 90, 105, 85, 110, 80, 75, 70};

// Σ x xᵀ of one linear input over `tokens` calibration tokens, block diagonal: block b covers
// columns [b·block, min(cols, (b+1)·block)) and is a full symmetric n×n matrix, row-major, the
// blocks one after another.
struct ColumnHessian {
  int64_t cols = 0;
  int64_t block = kGptqBlock;
  int64_t tokens = 0;
  std::vector<double> sums;

  int64_t blocks() const { return (cols + block - 1) / block; }
  int64_t block_width(int64_t b) const { return std::min(block, cols - b * block); }
  // Offset of block b's first entry in `sums`.
  int64_t block_offset(int64_t b) const { return b * block * block; }
  size_t size() const {
    if (cols <= 0) return 0;
    const int64_t last = block_width(blocks() - 1);
    return static_cast<size_t>((blocks() - 1) * block * block + last * last);
  }
};

// Hd and U of every block, computed once per tensor. Throws, naming `what`, when a block is
// not positive definite even after damping (which finite statistics cannot produce).
struct GptqFactors {
  GptqFactors(const ColumnHessian& h, const std::string& what);
  int64_t cols, block;
  std::vector<double> damped;  // Hd, laid out like ColumnHessian::sums
  std::vector<double> upper;   // U, the same layout (entries below the diagonal are 0)
  std::vector<float> upper_f32;           // U rounded to float32, for the updates
  std::vector<double> inverse_diagonal;  // 1 / U_jj by column
};

// Quantizes like quantize_rows (same arguments, same output layout) with the codes above.
// Returns false at a row holding inf or nan.
bool gptq_quantize_rows(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                        const QuantizedLayout& layout, const GptqFactors& factors, uint8_t* codes, uint8_t* scales);

namespace detail {
// GPTQ codes of one row x[0..cols) into q for the scale factor `percent` (100: the reference
// rule); returns Σ e_j², stopping early with a value ≥ bound once the sum reaches it.
// `scales` gets one scale per block of the layout.
// With propagate false, no error is spread (the reference coding for percent 100) and the
// result is 0.
double gptq_row(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& factors, int percent,
                bool propagate, double bound, int8_t* q, float* scales);
// (x − x̂)ᵀ Hd (x − x̂) for codes q and per-block scales (the layout's groups).
double damped_error(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& factors,
                    const int8_t* q, const float* scales);
}  // namespace detail

}  // namespace pte
