#include <cmath>
#include <vector>

#include "runtime-check/dot.h"
#include "runtime-load/float_rows.h"
#include "runtime-check/kernels.h"

namespace pte::runtime {

namespace {

// Normalizes every `dim`-wide row of x (fp32, rounded to out.dtype), then scales by weight.
void normalize_rows(const Tensor& x, const Tensor& weight, size_t dim, double eps, Tensor& out) {
  if (dim == 0) return;
  const size_t rows = out.floats.size() / dim;
  std::vector<float> x_scratch, w_scratch;
  const float* w = read_floats(weight, 0, dim, w_scratch);
  const float eps_f = static_cast<float>(eps);
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = read_floats(x, r * dim, dim, x_scratch);
    float mean_square = dot(xr, xr, dim) / static_cast<float>(dim);
    float root = std::sqrt(mean_square + eps_f);
    float* o = out.floats.data() + r * dim;
    for (size_t i = 0; i < dim; ++i) o[i] = round_to_dtype(out.dtype, xr[i] / root) * w[i];
  }
  round_in_place(out.dtype, out.floats);
}

}  // namespace

void rms_norm(const Tensor& x, const Tensor& weight, double eps, Tensor& out) {
  normalize_rows(x, weight, static_cast<size_t>(x.shape.back()), eps, out);
}

void head_rms_norm(const Tensor& x, const Tensor& weight, int64_t n_heads, int64_t head_dim, double eps, Tensor& out) {
  normalize_rows(x, weight, static_cast<size_t>(head_dim), eps, out);
}

}  // namespace pte::runtime
