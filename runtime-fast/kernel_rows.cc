// The operators that work row by row or element by element: embedding, rms_norm, rope,
// to_heads, add, mul, silu, concat, select_row. Each computes the real rows only and rounds
// every output element once to the output dtype, as FORMAT.md §5 and the oracle do.
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "runtime-fast/op_kernels.h"
#include "runtime-load/float_rows.h"

namespace pte::fast {
namespace {

DType out_dtype(const Step& s, const RunContext& c) { return c.slot(s.out).dtype; }

template <typename Fn>
void elementwise(const Step& s, RunContext& c, Fn fn) {
  const size_t n = c.active_elements(c.slot(s.out));
  const float* a = c.in(s, 0);
  const float* b = s.in.size() > 1 ? c.in(s, 1) : a;
  float* o = c.out(s);
  for (size_t i = 0; i < n; ++i) o[i] = fn(a[i], b[i]);
  c.round(out_dtype(s, c), o, n);
}

}  // namespace

void embedding_kernel(const Step& s, RunContext& c) {
  const Slot& table = c.slot(s.in[0]);
  const int64_t vocab = table.shape[0], dim = table.shape[1];
  const size_t rows = static_cast<size_t>(c.active_rows(c.slot(s.out)));
  const int64_t* tokens = c.ints[static_cast<size_t>(s.in[1])];
  float* o = c.out(s);
  for (size_t t = 0; t < rows; ++t) {
    const int64_t id = tokens[t];
    if (id < 0 || id >= vocab)
      throw Error("embedding: token " + std::to_string(id) + " at position " + std::to_string(t) +
                  " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    const float* row = table.constant ? runtime::read_floats(*table.constant, static_cast<size_t>(id * dim),
                                                             static_cast<size_t>(dim), c.scratch[0])
                                      : c.in(s, 0) + id * dim;
    if (dim) std::memcpy(o + t * static_cast<size_t>(dim), row, static_cast<size_t>(dim) * sizeof(float));
  }
  c.round(out_dtype(s, c), o, rows * static_cast<size_t>(dim));
}

namespace {

// Normalizes `rows` rows of `dim` values (fp32, rounded to the output dtype), then scales by w.
void normalize_rows(const Step& s, RunContext& c, size_t rows, size_t dim) {
  const float *x = c.in(s, 0), *w = c.in(s, 1);
  const float eps = static_cast<float>(s.node->attributes.eps);
  const DType dtype = out_dtype(s, c);
  float* o = c.out(s);
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* orow = o + r * dim;
    const float root = std::sqrt(c.simd.dot_f32(xr, xr, dim) / static_cast<float>(dim) + eps);
    for (size_t i = 0; i < dim; ++i) orow[i] = xr[i] / root;
    c.round(dtype, orow, dim);
    for (size_t i = 0; i < dim; ++i) orow[i] *= w[i];
    c.round(dtype, orow, dim);
  }
}

}  // namespace

void rms_norm_kernel(const Step& s, RunContext& c) {
  const Slot& x_slot = c.slot(s.in[0]);
  const size_t dim = static_cast<size_t>(x_slot.shape.back());
  if (dim == 0) return;
  normalize_rows(s, c, static_cast<size_t>(c.active_rows(x_slot)), dim);
}

// Opset 2 (Qwen3's q/k norm): each head's head_dim values of every token row, one weight.
void head_rms_norm_kernel(const Step& s, RunContext& c) {
  const runtime::OpAttributes& a = s.node->attributes;
  const size_t rows = static_cast<size_t>(c.active_rows(c.slot(s.in[0])));
  if (a.head_dim == 0) return;
  normalize_rows(s, c, rows * static_cast<size_t>(a.n_heads), static_cast<size_t>(a.head_dim));
}

void rope_kernel(const Step& s, RunContext& c) {
  const runtime::OpAttributes& a = s.node->attributes;
  const size_t rows = static_cast<size_t>(c.active_rows(c.slot(s.in[0])));
  const size_t heads = static_cast<size_t>(a.n_heads), dim = static_cast<size_t>(a.head_dim), half = dim / 2;
  const float *x = c.in(s, 0), *cos = c.in(s, 1), *sin = c.in(s, 2);
  float* o = c.out(s);
  for (size_t t = 0; t < rows; ++t) {
    const float *ct = cos + t * half, *st = sin + t * half;
    for (size_t h = 0; h < heads; ++h) {
      const float* xi = x + (t * heads + h) * dim;
      float* oi = o + (t * heads + h) * dim;
      for (size_t i = 0; i < half; ++i) {
        const float p = xi[2 * i], q = xi[2 * i + 1];
        oi[2 * i] = p * ct[i] - q * st[i];
        oi[2 * i + 1] = p * st[i] + q * ct[i];
      }
    }
  }
  c.round(out_dtype(s, c), o, rows * heads * dim);
}

void to_heads_kernel(const Step& s, RunContext& c) {
  const runtime::OpAttributes& a = s.node->attributes;
  const Slot& x_slot = c.slot(s.in[0]);
  const size_t tokens = static_cast<size_t>(x_slot.shape[1]), rows = static_cast<size_t>(c.active_rows(x_slot));
  const size_t heads = static_cast<size_t>(a.n_heads), dim = static_cast<size_t>(a.head_dim);
  const float* x = c.in(s, 0);
  float* o = c.out(s);
  for (size_t h = 0; h < heads; ++h) {
    float* dst = o + h * tokens * dim;
    for (size_t t = 0; t < rows; ++t) std::memcpy(dst + t * dim, x + (t * heads + h) * dim, dim * sizeof(float));
    c.round(out_dtype(s, c), dst, rows * dim);
  }
}

void add_kernel(const Step& s, RunContext& c) {
  const float scale = static_cast<float>(s.node->attributes.alpha);
  if (scale == 1.0f)
    elementwise(s, c, [](float x, float y) { return x + y; });
  else  // two float32 roundings (no contraction into an fma), then one to the output dtype
    elementwise(s, c, [scale](float x, float y) { return x + scale * y; });
}

void mul_kernel(const Step& s, RunContext& c) {
  elementwise(s, c, [](float x, float y) { return x * y; });
}

void silu_kernel(const Step& s, RunContext& c) {
  elementwise(s, c, [](float v, float) { return v / (1.0f + std::exp(-v)); });
}

void concat_kernel(const Step& s, RunContext& c) {
  const Slot& out = c.slot(s.out);
  const size_t axis = static_cast<size_t>(s.node->attributes.axis);
  size_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(out.shape[d]);
  for (size_t d = axis + 1; d < out.shape.size(); ++d) inner *= static_cast<size_t>(out.shape[d]);
  if (axis == 2 && out.shape.size() == 3) outer = static_cast<size_t>(c.active_rows(out));  // [1, T, X]: the real rows
  float* o = c.out(s);
  float* start = o;
  for (size_t i = 0; i < outer; ++i)
    for (size_t k = 0; k < s.in.size(); ++k) {
      const size_t block = static_cast<size_t>(c.slot(s.in[k]).shape[axis]) * inner;
      std::memcpy(o, c.in(s, k) + i * block, block * sizeof(float));
      o += block;
    }
  c.round(out.dtype, start, static_cast<size_t>(o - start));
}

void select_row_kernel(const Step& s, RunContext& c) {
  const Slot& x = c.slot(s.in[0]);
  const int64_t rows = x.shape[1], dim = x.shape[2];
  const int64_t p = c.ints[static_cast<size_t>(s.in[1])][0];
  if (p < 0 || p >= rows)
    throw Error("select_row: position " + std::to_string(p) + " is outside [0, " + std::to_string(rows) + ")");
  float* o = c.out(s);
  if (dim) std::memcpy(o, c.in(s, 0) + p * dim, static_cast<size_t>(dim) * sizeof(float));
  c.round(out_dtype(s, c), o, static_cast<size_t>(dim));
}

}  // namespace pte::fast
