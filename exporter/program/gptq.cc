#include "exporter/program/gptq.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "common/error.h"
#include "common/float16.h"
#include "common/vector_clones.h"
#include "exporter/program/model_dtype_rounding.h"

// The lane vectors below never cross a non-inlined call, so GCC's note that passing 32-byte
// vectors changes the ABI without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

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

inline constexpr int kBatch = 8;  // rows coded together: their column steps are independent
// One column's values of the kBatch rows, in float32 like the reference GPTQ's updates (a
// GCC/Clang vector: element-wise operations only). Its alignment is given: GCC otherwise
// aligns it for the baseline CPU (16), while the AVX2 clone's code assumes 32.
using Lanes = float __attribute__((vector_size(kBatch * sizeof(float)), aligned(kBatch * sizeof(float))));
using LaneBits = uint32_t __attribute__((vector_size(kBatch * sizeof(float)), aligned(kBatch * sizeof(float))));
using LaneInts = int32_t __attribute__((vector_size(kBatch * sizeof(float)), aligned(kBatch * sizeof(float))));

template <typename To, typename From>
To lane_cast(const From& v) {
  static_assert(sizeof(To) == sizeof(From));
  To out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

// to_model_dtype on every lane: round_to_half_fast's operations, lane by lane.
template <bool kHalf>
[[gnu::always_inline]] inline Lanes to_model_dtype_lanes(Lanes f) {
  if constexpr (!kHalf) {
    return f;
  } else {
    const LaneBits u = lane_cast<LaneBits>(f);
    const LaneInts magnitude = lane_cast<LaneInts>(u & 0x7fffffffu);
    const LaneBits sign = u & 0x80000000u;
    const LaneBits normal = (u + 0x0fffu + ((u >> 13) & 1u)) & 0xffffe000u;
    const LaneBits subnormal = lane_cast<LaneBits>((lane_cast<Lanes>(magnitude) + 0.5f) - 0.5f) | sign;
    const LaneBits huge = magnitude > 0x7f800000 ? u : (sign | 0x7f800000u);
    const LaneBits r = magnitude < 0x38800000 ? subnormal : normal;
    return lane_cast<Lanes>(magnitude >= 0x477ff000 ? huge : r);
  }
}

[[gnu::always_inline]] inline Lanes lanes_of(float v) { return Lanes{} + v; }

// The reference coding clamp(round_half_even(T(v × recip)), qmin, qmax) on every lane, clamped
// first as well: a value carried far by the spread errors stays in the rounding trick's range.
template <bool kHalf>
[[gnu::always_inline]] inline Lanes codes_of(Lanes v, Lanes recip, const Coding& c) {
  const Lanes low = lanes_of(c.qmin - 1), high = lanes_of(c.qmax + 1), qmin = lanes_of(c.qmin), qmax = lanes_of(c.qmax);
  Lanes y = to_model_dtype_lanes<kHalf>(v * recip);
  y = y < low ? low : y;
  y = high < y ? high : y;
  Lanes code = (y + 0x1.8p23f) - 0x1.8p23f;  // round_half_even_small
  code = code < qmin ? qmin : code;
  return qmax < code ? qmax : code;
}

// Columns of Lanes, aligned as Lanes must be (std::vector would not).
class LaneColumns {
 public:
  explicit LaneColumns(int64_t cols)
      : data_(static_cast<Lanes*>(::operator new(static_cast<size_t>(cols) * sizeof(Lanes), std::align_val_t{alignof(Lanes)}))) {}
  ~LaneColumns() { ::operator delete(data_, std::align_val_t{alignof(Lanes)}); }
  LaneColumns(const LaneColumns&) = delete;
  LaneColumns& operator=(const LaneColumns&) = delete;
  Lanes* data() const { return data_; }

 private:
  Lanes* data_;
};

// GPTQ of `n` ≤ kBatch rows (row r at x + r·cols) with the same scale factor, interleaved so
// that the rows' serial column steps overlap and each update is one vector operation across
// rows. Row r's codes go to q + r·cols, its scales to scales + r·blocks_per_row, its Σ e² to
// err[r]; the work stops once every row's sum has reached its bound (bounds[r]).
template <bool kHalf>
[[gnu::always_inline]] inline void gptq_rows_in(const float* x, int n, int64_t cols, const QuantizedLayout& layout,
                                                const GptqFactors& f, int percent, bool propagate,
                                                const double* bounds, int8_t* q, float* scales, double* err,
                                                Lanes* w) {
  const Coding c = coding_of<kHalf>(layout.bits);
  const int64_t blocks_per_row = layout.group ? cols / layout.group : 1;
  std::fill(w, w + cols, Lanes{});  // w[col][r]
  for (int r = 0; r < n; ++r)
    for (int64_t i = 0; i < cols; ++i) w[i][r] = x[r * cols + i];
  Lanes s = {}, recip = {};
  auto set_scale = [&](int r, float amax, int64_t index) {
    s[r] = scale_for<kHalf>(amax, percent, c);
    recip[r] = to_model_dtype<kHalf>(1.0f / s[r]);
    scales[r * blocks_per_row + index] = s[r];
  };
  if (layout.group == 0)
    for (int r = 0; r < n; ++r) set_scale(r, largest_magnitude(x + r * cols, cols), 0);
  for (int r = 0; r < n; ++r) err[r] = 0;
  for (int64_t c0 = 0, b = 0; c0 < cols; c0 += f.block, ++b) {
    const int64_t nb = std::min(f.block, cols - c0);
    const float* u = f.upper_f32.data() + b * f.block * f.block;
    const double* inverse_diagonal = f.inverse_diagonal.data() + c0;
    for (int64_t j = 0; j < nb; ++j) {
      const int64_t col = c0 + j;
      const Lanes& wc = w[col];
      if (layout.group && col % layout.group == 0)
        for (int r = 0; r < n; ++r) {
          float amax = 0;
          for (int64_t i = 0; i < layout.group; ++i) amax = std::max(amax, std::fabs(w[col + i][r]));
          set_scale(r, amax, col / layout.group);
        }
      const Lanes code = codes_of<kHalf>(wc, recip, c);
      const Lanes dequantized = to_model_dtype_lanes<kHalf>(code * s);
      double e[kBatch] = {};
      Lanes spread = {};
      for (int r = 0; r < n; ++r) {
        q[r * cols + col] = static_cast<int8_t>(code[r]);
        e[r] = (static_cast<double>(wc[r]) - static_cast<double>(dequantized[r])) * inverse_diagonal[j];
        spread[r] = static_cast<float>(e[r]);
      }
      if (!propagate) continue;
      bool open = false;
      for (int r = 0; r < n; ++r) {
        err[r] += e[r] * e[r];
        open |= err[r] < bounds[r];
      }
      if (!open) return;
      const float* urow = u + j * nb;
      Lanes* rest = w + c0;
      for (int64_t k = j + 1; k < nb; ++k) rest[k] -= spread * urow[k];
    }
  }
}

template <bool kHalf>
[[gnu::always_inline]] inline double damped_error_in(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& f,
                       const int8_t* q, const float* scales) {
  thread_local std::vector<double> d, hd;
  d.resize(static_cast<size_t>(cols));
  hd.resize(static_cast<size_t>(f.block));
  for (int64_t i = 0; i < cols; ++i) {
    const float s = scales[layout.group ? i / layout.group : 0];
    d[i] = static_cast<double>(x[i]) - static_cast<double>(to_model_dtype<kHalf>(static_cast<float>(q[i]) * s));
  }
  double err = 0;
  for (int64_t c0 = 0, b = 0; c0 < cols; c0 += f.block, ++b) {
    const int64_t nb = std::min(f.block, cols - c0);
    const double* h = f.damped.data() + b * f.block * f.block;
    // dᵀ Hd d = Σ_j d_j (Hd_jj d_j + 2 Σ_{i<j} Hd_ij d_i); the inner sums are built row by row
    // of the upper triangle, each in row order.
    std::fill(hd.begin(), hd.begin() + nb, 0.0);
    for (int64_t i = 0; i < nb; ++i) {
      const double di = d[c0 + i];
      const double* row = h + i * nb;
      for (int64_t j = i + 1; j < nb; ++j) hd[j] += row[j] * di;
    }
    for (int64_t j = 0; j < nb; ++j) err += d[c0 + j] * (h[j * nb + j] * d[c0 + j] + 2 * hd[j]);
  }
  return err;
}

template <bool kHalf>
[[gnu::always_inline]] inline bool quantize_rows_in(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                                                    const QuantizedLayout& layout, const GptqFactors& f, uint8_t* codes,
                                                    uint8_t* scales) {
  const int64_t blocks_per_row = layout.group ? cols / layout.group : 1;
  std::vector<int8_t> best_q(static_cast<size_t>(kBatch * cols)), try_q(best_q.size());
  std::vector<float> best_s(static_cast<size_t>(kBatch * blocks_per_row)), try_s(best_s.size());
  const LaneColumns w(cols);
  for (int64_t r0 = 0; r0 < rows; r0 += kBatch) {
    const int n = static_cast<int>(std::min<int64_t>(kBatch, rows - r0));
    const float* x = values + r0 * cols;
    for (int64_t i = 0; i < n * cols; ++i)
      if (!std::isfinite(x[i])) return false;
    double best[kBatch], err[kBatch];
    gptq_rows_in<kHalf>(x, n, cols, layout, f, 100, false, best, best_q.data(), best_s.data(), err, w.data());
    for (int r = 0; r < n; ++r)
      best[r] = damped_error_in<kHalf>(x + r * cols, cols, layout, f, best_q.data() + r * cols,
                                       best_s.data() + r * blocks_per_row);
    for (const int p : kGptqPercents) {
      if (std::all_of(best, best + n, [](double e) { return e == 0; })) break;
      gptq_rows_in<kHalf>(x, n, cols, layout, f, p, true, best, try_q.data(), try_s.data(), err, w.data());
      for (int r = 0; r < n; ++r)
        if (err[r] < best[r]) {
          best[r] = err[r];
          std::copy_n(try_q.begin() + r * cols, cols, best_q.begin() + r * cols);
          std::copy_n(try_s.begin() + r * blocks_per_row, blocks_per_row, best_s.begin() + r * blocks_per_row);
        }
    }
    const int64_t g = layout.group ? layout.group : cols;
    for (int r = 0; r < n; ++r)
      for (int64_t b = 0; b < blocks_per_row; ++b)
        store_block(best_q.data() + r * cols + b * g, g, (first_row + r0 + r) * cols + b * g, layout.bits, layout.dtype,
                    best_s[r * blocks_per_row + b], (first_row + r0 + r) * blocks_per_row + b, codes, scales);
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
    for (int64_t i = 0; i < nb; ++i) inverse_diagonal.push_back(1.0 / upper[at + i * nb + i]);
    for (int64_t i = 0; i < nb * nb; ++i) upper_f32.push_back(static_cast<float>(upper[at + i]));
  }
}

namespace detail {
double gptq_row(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& factors, int percent,
                bool propagate, double bound, int8_t* q, float* scales) {
  double err = 0;
  const LaneColumns w(cols);
  if (layout.dtype == DType::F16)
    gptq_rows_in<true>(x, 1, cols, layout, factors, percent, propagate, &bound, q, scales, &err, w.data());
  else
    gptq_rows_in<false>(x, 1, cols, layout, factors, percent, propagate, &bound, q, scales, &err, w.data());
  return err;
}
double damped_error(const float* x, int64_t cols, const QuantizedLayout& layout, const GptqFactors& factors,
                    const int8_t* q, const float* scales) {
  return layout.dtype == DType::F16 ? damped_error_in<true>(x, cols, layout, factors, q, scales)
                                    : damped_error_in<false>(x, cols, layout, factors, q, scales);
}
}  // namespace detail

PTE_VECTOR_CLONES bool gptq_rows_fp16(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                                      const QuantizedLayout& layout, const GptqFactors& factors, uint8_t* codes,
                                      uint8_t* scales) {
  return quantize_rows_in<true>(values, first_row, rows, cols, layout, factors, codes, scales);
}

PTE_VECTOR_CLONES bool gptq_rows_fp32(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                                      const QuantizedLayout& layout, const GptqFactors& factors, uint8_t* codes,
                                      uint8_t* scales) {
  return quantize_rows_in<false>(values, first_row, rows, cols, layout, factors, codes, scales);
}

bool gptq_quantize_rows(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                        const QuantizedLayout& layout, const GptqFactors& factors, uint8_t* codes, uint8_t* scales) {
  if (factors.cols != cols || (layout.group && (cols % layout.group || factors.block % layout.group)))
    throw Error("internal: GPTQ statistics for " + std::to_string(factors.cols) + " columns, given " +
                std::to_string(cols));
  if (layout.dtype == DType::F16) return gptq_rows_fp16(values, first_row, rows, cols, layout, factors, codes, scales);
  return gptq_rows_fp32(values, first_row, rows, cols, layout, factors, codes, scales);
}

}  // namespace pte
