// rope and to_heads: the per-head layout operators applied to [1, T, n*D] projections.
#include <vector>

#include "runtime-load/float_rows.h"
#include "runtime-check/kernels.h"

namespace pte::runtime {

void rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t n_heads, int64_t head_dim,
          Tensor& out) {
  const size_t tokens = static_cast<size_t>(x.shape[1]);
  const size_t heads = static_cast<size_t>(n_heads), dim = static_cast<size_t>(head_dim), half = dim / 2;
  std::vector<float> xs_scratch, cos_scratch, sin_scratch;
  const float* xs = read_floats(x, 0, out.floats.size(), xs_scratch);
  for (size_t t = 0; t < tokens; ++t) {
    const float* c = read_floats(cos, t * half, half, cos_scratch);
    const float* s = read_floats(sin, t * half, half, sin_scratch);
    for (size_t h = 0; h < heads; ++h) {
      const float* xi = xs + (t * heads + h) * dim;
      float* o = out.floats.data() + (t * heads + h) * dim;
      for (size_t i = 0; i < half; ++i) {
        float a = xi[2 * i], b = xi[2 * i + 1];
        o[2 * i] = a * c[i] - b * s[i];
        o[2 * i + 1] = a * s[i] + b * c[i];
      }
    }
  }
  round_in_place(out.dtype, out.floats);
}

void to_heads(const Tensor& x, int64_t n_heads, int64_t head_dim, Tensor& out) {
  const size_t tokens = static_cast<size_t>(x.shape[1]);
  const size_t heads = static_cast<size_t>(n_heads), dim = static_cast<size_t>(head_dim);
  std::vector<float> scratch;
  const float* xs = read_floats(x, 0, out.floats.size(), scratch);
  for (size_t h = 0; h < heads; ++h)
    for (size_t t = 0; t < tokens; ++t)
      for (size_t d = 0; d < dim; ++d)
        out.floats[(h * tokens + t) * dim + d] = xs[(t * heads + h) * dim + d];
  round_in_place(out.dtype, out.floats);
}

}  // namespace pte::runtime
