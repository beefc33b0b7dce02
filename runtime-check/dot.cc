#include "runtime-check/dot.h"

#include "common/vector_clones.h"

namespace pte::runtime {

PTE_VECTOR_CLONES float dot(const float* a, const float* b, size_t n) {
  constexpr size_t kSums = 32;
  float acc[kSums] = {};
  size_t i = 0;
  for (; i + kSums <= n; i += kSums)
    for (size_t j = 0; j < kSums; ++j) acc[j] += a[i + j] * b[i + j];
  for (size_t width = kSums / 2; width > 0; width /= 2)
    for (size_t j = 0; j < width; ++j) acc[j] += acc[j + width];
  float sum = acc[0];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace pte::runtime
