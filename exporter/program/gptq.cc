#include "exporter/program/gptq.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/float16.h"
#include "exporter/program/model_dtype_rounding.h"

namespace pte {
namespace {

// The lower Cholesky factor of the symmetric positive definite n×n matrix a (row-major), in
// place, zeros above the diagonal; false when a is not positive definite.
bool cholesky_lower(double* a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0) || !std::isfinite(d)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (int64_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (int64_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
    for (int64_t i = j + 1; i < n; ++i) a[j * n + i] = 0;
  }
  return true;
}

// U with a⁻¹ = UᵀU for the symmetric positive definite n×n matrix a; false when it is not.
bool upper_factor_of_inverse(const double* a, int64_t n, double* u) {
  std::vector<double> l(a, a + n * n);
  if (!cholesky_lower(l.data(), n)) return false;
  std::vector<double> li(static_cast<size_t>(n * n), 0.0);  // L⁻¹, lower triangular
  for (int64_t j = 0; j < n; ++j) {
    li[j * n + j] = 1.0 / l[j * n + j];
    for (int64_t i = j + 1; i < n; ++i) {
      double s = 0;
      for (int64_t k = j; k < i; ++k) s += l[i * n + k] * li[k * n + j];
      li[i * n + j] = -s / l[i * n + i];
    }
  }
  std::vector<double> inv(static_cast<size_t>(n * n));  // a⁻¹ = L⁻ᵀ L⁻¹
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = std::max(i, j); k < n; ++k) s += li[k * n + i] * li[k * n + j];
      inv[i * n + j] = s;
    }
  if (!cholesky_lower(inv.data(), n)) return false;  // a⁻¹ = M Mᵀ, so U = Mᵀ
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) u[i * n + j] = inv[j * n + i];
  return true;
}

struct Coding {
  float div, qmin, qmax, eps;
};

template <bool kHalf>
Coding coding_of(int bits) {
  return bits == 4 ? Coding{7.5f, -8.0f, 7.0f, kHalf ? 0x1p-14f : 0x1p-126f}
                   : Coding{127.5f, -128.0f, 127.0f, kHalf ? 0x1p-14f : 0x1p-126f};
}

// s(p) of scale_search.h; p = 100 is the reference formula itself.
template <bool kHalf>
float scale_for(float amax, int percent, const Coding& c) {
  if (percent == 100) return std::max(to_model_dtype<kHalf>(amax / c.div), c.eps);
  const double div = c.div;
  return std::max(to_model_dtype<kHalf>(static_cast<float>(static_cast<double>(amax) * percent / (100.0 * div))), c.eps);
}

template <typename Values>
float largest_magnitude(Values v, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<float>(v[i])));
  return m;
}

template <bool kHalf>
float code_of(float v, float recip, const Coding& c) {
  // Clamped first: a value carried far by the spread errors stays in round_half_even_small's range.
  const float y = std::min(std::max(to_model_dtype<kHalf>(v * recip), c.qmin - 1), c.qmax + 1);
  return std::min(std::max(round_half_even_small(y), c.qmin), c.qmax);
}

template <bool kHalf>
double gptq_row_in(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& f, int percent,
                   bool propagate, double bound, int8_t* q, float* scales) {
  const Coding c = coding_of<kHalf>(layout.bits);
  thread_local std::vector<double> w;
  w.assign(x, x + cols);
  float s = 0, recip = 0;
  auto set_scale = [&](float amax, int64_t index) {
    s = scale_for<kHalf>(amax, percent, c);
    recip = to_model_dtype<kHalf>(1.0f / s);
    scales[index] = s;
  };
  if (layout.group == 0) set_scale(largest_magnitude(x, cols), 0);
  double err = 0;
  for (int64_t c0 = 0, b = 0; c0 < cols; c0 += f.block, ++b) {
    const int64_t nb = std::min(f.block, cols - c0);
    const double* u = f.upper.data() + b * f.block * f.block;
    for (int64_t j = 0; j < nb; ++j) {
      const int64_t col = c0 + j;
      if (layout.group && col % layout.group == 0) set_scale(largest_magnitude(w.data() + col, layout.group), col / layout.group);
      const float code = code_of<kHalf>(static_cast<float>(w[col]), recip, c);
      q[col] = static_cast<int8_t>(code);
      if (!propagate) continue;
      const double e = (w[col] - static_cast<double>(to_model_dtype<kHalf>(code * s))) / u[j * nb + j];
      err += e * e;
      if (err >= bound) return err;
      const double* urow = u + j * nb;
      double* rest = w.data() + c0;
      for (int64_t k = j + 1; k < nb; ++k) rest[k] -= e * urow[k];
    }
  }
  return err;
}

template <bool kHalf>
double damped_error_in(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& f,
                       const int8_t* q, const float* scales) {
  thread_local std::vector<double> d;
  d.resize(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i) {
    const float s = scales[layout.group ? i / layout.group : 0];
    d[i] = static_cast<double>(x[i]) - static_cast<double>(to_model_dtype<kHalf>(static_cast<float>(q[i]) * s));
  }
  double err = 0;
  for (int64_t c0 = 0, b = 0; c0 < cols; c0 += f.block, ++b) {
    const int64_t nb = std::min(f.block, cols - c0);
    const double* h = f.damped.data() + b * f.block * f.block;
    for (int64_t i = 0; i < nb; ++i) {
      double row = 0;
      for (int64_t j = 0; j < nb; ++j) row += h[i * nb + j] * d[c0 + j];
      err += d[c0 + i] * row;
    }
  }
  return err;
}

template <bool kHalf>
bool quantize_rows_in(const float* values, int64_t first_row, int64_t rows, int64_t cols, const QuantizedLayout& layout,
                      const GptqFactors& f, uint8_t* codes, uint8_t* scales) {
  const int64_t blocks_per_row = layout.group ? cols / layout.group : 1;
  std::vector<int8_t> best_q(static_cast<size_t>(cols)), try_q(static_cast<size_t>(cols));
  std::vector<float> best_s(static_cast<size_t>(blocks_per_row)), try_s(static_cast<size_t>(blocks_per_row));
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = values + r * cols;
    for (int64_t i = 0; i < cols; ++i)
      if (!std::isfinite(x[i])) return false;
    gptq_row_in<kHalf>(x, cols, layout, f, 100, false, 0, best_q.data(), best_s.data());
    double best = damped_error_in<kHalf>(x, cols, layout, f, best_q.data(), best_s.data());
    float last_row_scale = -1;
    for (int p = kGptqLowestPercent; p <= kGptqHighestPercent && best > 0; p += kGptqPercentStep) {
      if (layout.group == 0) {  // one scale per row: a factor that lands on the same scale codes the same
        const float s = scale_for<kHalf>(largest_magnitude(x, cols), p, coding_of<kHalf>(layout.bits));
        if (s == last_row_scale) continue;
        last_row_scale = s;
      }
      const double err = gptq_row_in<kHalf>(x, cols, layout, f, p, true, best, try_q.data(), try_s.data());
      if (err < best) {
        best = err;
        best_q.swap(try_q);
        best_s.swap(try_s);
      }
    }
    for (int64_t b = 0; b < blocks_per_row; ++b) {
      const int64_t g = layout.group ? layout.group : cols;
      store_block(best_q.data() + b * g, g, (first_row + r) * cols + b * g, layout.bits, layout.dtype, best_s[b],
                  (first_row + r) * blocks_per_row + b, codes, scales);
    }
  }
  return true;
}

}  // namespace

GptqFactors::GptqFactors(const ColumnHessian& h, const std::string& what) : cols(h.cols), block(h.block) {
  if (h.tokens <= 0 || h.cols <= 0 || h.block <= 0 || h.sums.size() != h.size())
    throw Error("internal: " + what + ": calibration statistics of the wrong size");
  const double n = static_cast<double>(h.tokens);
  double mean = 0;
  for (int64_t b = 0; b < h.blocks(); ++b) {
    const int64_t nb = h.block_width(b);
    for (int64_t i = 0; i < nb; ++i) mean += h.sums[h.block_offset(b) + i * nb + i] / n;
  }
  mean /= static_cast<double>(h.cols);
  if (!(mean > 0)) mean = 1;
  const double lambda = kGptqDamp * mean;
  damped.resize(h.sums.size());
  upper.resize(h.sums.size());
  for (int64_t b = 0; b < h.blocks(); ++b) {
    const int64_t nb = h.block_width(b), at = h.block_offset(b);
    for (int64_t i = 0; i < nb * nb; ++i) damped[at + i] = h.sums[at + i] / n;
    for (int64_t i = 0; i < nb; ++i) {
      double& diag = damped[at + i * nb + i];
      if (diag == 0) diag = mean;  // no calibration token reached this column
      diag += lambda;
    }
    if (!upper_factor_of_inverse(damped.data() + at, nb, upper.data() + at))
      throw Error(what + ": the calibration statistics of columns " + std::to_string(b * h.block) + ".." +
                  std::to_string(b * h.block + nb - 1) + " are not positive definite");
  }
}

namespace detail {
double gptq_row(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& factors, int percent,
                bool propagate, double bound, int8_t* q, float* scales) {
  return layout.dtype == DType::F16 ? gptq_row_in<true>(x, cols, layout, factors, percent, propagate, bound, q, scales)
                                    : gptq_row_in<false>(x, cols, layout, factors, percent, propagate, bound, q, scales);
}
double damped_error(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& factors,
                    const int8_t* q, const float* scales) {
  return layout.dtype == DType::F16 ? damped_error_in<true>(x, cols, layout, factors, q, scales)
                                    : damped_error_in<false>(x, cols, layout, factors, q, scales);
}
}  // namespace detail

bool gptq_quantize_rows(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                        const QuantizedLayout& layout, const GptqFactors& factors, uint8_t* codes, uint8_t* scales) {
  if (factors.cols != cols || (layout.group && (cols % layout.group || factors.block % layout.group)))
    throw Error("internal: GPTQ statistics for " + std::to_string(factors.cols) + " columns, given " +
                std::to_string(cols));
  if (layout.dtype == DType::F16)
    return quantize_rows_in<true>(values, first_row, rows, cols, layout, factors, codes, scales);
  return quantize_rows_in<false>(values, first_row, rows, cols, layout, factors, codes, scales);
}

}  // namespace pte
