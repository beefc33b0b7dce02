#include <vector>

#include "runtime-check/dot.h"
#include "runtime-load/float_rows.h"
#include "runtime-check/kernels.h"
#include "runtime-check/parallel.h"

namespace pte::runtime {

void linear(const Tensor& x, const Tensor& weight, Tensor& out) {
  const size_t n_out = static_cast<size_t>(weight.shape[0]);
  const size_t k = static_cast<size_t>(weight.shape[1]);
  if (n_out == 0) return;
  const size_t rows = out.floats.size() / n_out;
  std::vector<float> x_scratch;
  const float* xs = read_floats(x, 0, rows * k, x_scratch);
  float* o = out.floats.data();
  // Each weight row is decoded once per call and dotted with every input row.
  parallel_for(n_out, rows * k, [&](size_t begin, size_t end) {
    std::vector<float> w_scratch;
    for (size_t n = begin; n < end; ++n) {
      const float* w = read_floats(weight, n * k, k, w_scratch);
      for (size_t r = 0; r < rows; ++r) o[r * n_out + n] = dot(xs + r * k, w, k);
    }
  });
  round_in_place(out.dtype, out.floats);
}

}  // namespace pte::runtime
