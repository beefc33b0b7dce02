// add, mul, silu, concat and select_row: operators that move or combine elements without reductions.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "runtime-load/float_rows.h"
#include "runtime-check/kernels.h"

namespace pte::runtime {
namespace {

// Constants are read in bounded chunks rather than decoded whole.
constexpr size_t kChunk = 4096;

template <typename Fn>
void binary(const Tensor& a, const Tensor& b, Tensor& out, Fn fn) {
  std::vector<float> sa, sb;
  const size_t n = out.floats.size();
  for (size_t start = 0; start < n; start += kChunk) {
    size_t count = std::min(kChunk, n - start);
    const float* x = read_floats(a, start, count, sa);
    const float* y = read_floats(b, start, count, sb);
    float* o = out.floats.data() + start;
    for (size_t i = 0; i < count; ++i) o[i] = fn(x[i], y[i]);
  }
  round_in_place(out.dtype, out.floats);
}

}  // namespace

void add(const Tensor& a, const Tensor& b, Tensor& out, double alpha) {
  const float scale = static_cast<float>(alpha);
  if (scale == 1.0f)
    binary(a, b, out, [](float x, float y) { return x + y; });
  else  // two float32 roundings (the build forbids contraction into an fma), then one to out.dtype
    binary(a, b, out, [scale](float x, float y) { return x + scale * y; });
}

void mul(const Tensor& a, const Tensor& b, Tensor& out) {
  binary(a, b, out, [](float x, float y) { return x * y; });
}

void silu(const Tensor& x, Tensor& out) {
  binary(x, x, out, [](float v, float) { return v / (1.0f + std::exp(-v)); });
}

void concat(std::span<const Tensor* const> inputs, int64_t axis, Tensor& out) {
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(out.shape[d]);
  for (size_t d = static_cast<size_t>(axis) + 1; d < out.shape.size(); ++d) inner *= static_cast<size_t>(out.shape[d]);
  std::vector<float> scratch;
  float* o = out.floats.data();
  for (size_t i = 0; i < outer; ++i) {
    for (const Tensor* in : inputs) {
      size_t block = static_cast<size_t>(in->shape[axis]) * inner;
      for (size_t start = 0; start < block; start += kChunk) {
        size_t count = std::min(kChunk, block - start);
        const float* src = read_floats(*in, i * block + start, count, scratch);
        std::memcpy(o, src, count * sizeof(float));
        o += count;
      }
    }
  }
  round_in_place(out.dtype, out.floats);
}

void select_row(const Tensor& x, const Tensor& pos, Tensor& out) {
  const int64_t rows = x.shape[1], dim = x.shape[2];
  int64_t p = 0;
  if (pos.is_constant()) std::memcpy(&p, pos.bytes, sizeof p);  // little-endian int64
  else p = pos.ints.at(0);
  if (p < 0 || p >= rows)
    throw Error("select_row: position " + std::to_string(p) + " is outside [0, " + std::to_string(rows) + ")");
  std::vector<float> scratch;
  const float* row = read_floats(x, static_cast<size_t>(p * dim), static_cast<size_t>(dim), scratch);
  if (dim) std::memcpy(out.floats.data(), row, static_cast<size_t>(dim) * sizeof(float));
  round_in_place(out.dtype, out.floats);
}

}  // namespace pte::runtime
