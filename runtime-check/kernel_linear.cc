#include <vector>

#include "runtime-check/dot.h"
#include "runtime-load/float_rows.h"
#include "runtime-check/kernels.h"
#include "runtime-check/parallel.h"

namespace pte::runtime {

void linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) {
  const size_t n_out = static_cast<size_t>(weight.shape[0]);
  const size_t k = static_cast<size_t>(weight.shape[1]);
  if (n_out == 0) return;
  const size_t rows = out.floats.size() / n_out;
  std::vector<float> x_scratch;
  const float* xs = read_floats(x, 0, rows * k, x_scratch);
  float* o = out.floats.data();
  std::vector<float> b_scratch;
  const float* b = bias ? read_floats(*bias, 0, n_out, b_scratch) : nullptr;
  // Each weight row is decoded once per call and dotted with every input row.
  parallel_for(n_out, rows * k, [&](size_t begin, size_t end) {
    std::vector<float> w_scratch;
    for (size_t n = begin; n < end; ++n) {
      const float* w = read_floats(weight, n * k, k, w_scratch);
      for (size_t r = 0; r < rows; ++r) o[r * n_out + n] = dot(xs + r * k, w, k) + (b ? b[n] : 0.0f);
    }
  });
  round_in_place(out.dtype, out.floats);
}

}  // namespace pte::runtime
