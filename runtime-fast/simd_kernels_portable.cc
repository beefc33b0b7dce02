// The portable variant: plain C++ (the compiler may vectorize it for the baseline ISA).
#include <cstdint>
#include <cstring>

#include "common/float16.h"
#include "runtime-fast/q4_scale.h"
#include "runtime-fast/simd_kernels.h"

namespace pte::fast {
namespace {

// The 16 dequantized values of one scale, indexed by the nibble (two's complement code).
void q4_table(float scale, bool f16_scales, float table[16]) {
  for (int nibble = 0; nibble < 16; ++nibble) {
    float v = static_cast<float>(nibble >= 8 ? nibble - 16 : nibble) * scale;
    table[nibble] = f16_scales ? round_to_half(v) : v;
  }
}

// Eight partial sums then the tail in order: every dot product sums in this one order, so a
// weight row gives the same sum whether it is read in place or decoded first.
template <typename Weight>
float dot_with(const float* x, size_t n, Weight w) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; ++j) acc[j] += x[i + j] * w(i + j);
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += x[i] * w(i);
  return sum;
}

float dot_f32(const float* a, const float* b, size_t n) {
  return dot_with(a, n, [b](size_t i) { return b[i]; });
}

void dot_rows(const float* x, size_t rows, const float* w, size_t k, float* out, size_t out_stride) {
  for (size_t r = 0; r < rows; ++r) out[r * out_stride] = dot_f32(x + r * k, w, k);
}

void dot_panel(const float* x, size_t x_stride, size_t rows, const float* w, size_t w_stride, size_t w_rows, size_t k,
               float* out, size_t out_stride) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t n = 0; n < w_rows; ++n) out[r * out_stride + n] = dot_f32(x + r * x_stride, w + n * w_stride, k);
}

float dot_f16(const float* x, const uint16_t* w, size_t n) {
  return dot_with(x, n, [w](size_t i) { return half_to_float(w[i]); });
}

float dot_q4(const float* x, const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales) {
  float table[16];
  size_t current = SIZE_MAX;
  return dot_with(x, n, [&](size_t i) {
    if (i / group != current) {
      current = i / group;
      q4_table(q4_scale(scales, f16_scales, current), f16_scales, table);
    }
    const uint8_t byte = codes[i / 2];
    return table[(i & 1) ? byte >> 4 : byte & 0xf];
  });
}

void dequant_q4(const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales, float* out) {
  float table[16];
  for (size_t g = 0; g * group < n; ++g) {
    q4_table(q4_scale(scales, f16_scales, g), f16_scales, table);
    for (size_t i = g * group; i < (g + 1) * group; i += 2) {
      out[i] = table[codes[i / 2] & 0xf];
      out[i + 1] = table[codes[i / 2] >> 4];
    }
  }
}

void round_f16(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = round_to_half_fast(x[i]);
}

void axpy(float a, const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

namespace detail {
const SimdKernels kPortableKernels = {dot_f32, dot_rows, dot_panel, dot_f16, dot_q4, dequant_q4, nullptr, nullptr, nullptr, round_f16, axpy};
}

}  // namespace pte::fast
