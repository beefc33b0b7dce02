#include <cstring>
#include <vector>

#include "common/error.h"
#include "runtime-load/float_rows.h"
#include "runtime-check/kernels.h"

namespace pte::runtime {

void embedding(const Tensor& table, const Tensor& tokens, Tensor& out) {
  const int64_t vocab = table.shape[0], dim = table.shape[1];
  std::vector<float> scratch;
  for (size_t t = 0; t < tokens.ints.size(); ++t) {
    int64_t id = tokens.ints[t];
    if (id < 0 || id >= vocab)
      throw Error("embedding: token " + std::to_string(id) + " at position " + std::to_string(t) +
                  " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    const float* row = read_floats(table, static_cast<size_t>(id * dim), static_cast<size_t>(dim), scratch);
    if (dim) std::memcpy(out.floats.data() + t * dim, row, static_cast<size_t>(dim) * sizeof(float));
  }
  round_in_place(out.dtype, out.floats);
}

}  // namespace pte::runtime
