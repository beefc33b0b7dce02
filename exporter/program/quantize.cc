#include "exporter/program/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/float16.h"
#include "common/vector_clones.h"
#include "exporter/program/model_dtype_rounding.h"
#include "exporter/program/scale_search.h"

namespace pte {
namespace {

template <bool kHalf>
void store_scale(uint8_t* scales, int64_t index, float scale) {
  if constexpr (kHalf) {
    uint16_t h = float_to_half(scale);
    std::memcpy(scales + 2 * index, &h, 2);
  } else {
    std::memcpy(scales + 4 * index, &scale, 4);
  }
}

void store_codes(const int8_t* q, int64_t n, int64_t base, int bits, uint8_t* codes) {
  if (bits == 8) {
    std::memcpy(codes + base, q, static_cast<size_t>(n));
  } else if (base % 2 == 0 && n % 2 == 0) {
    uint8_t* out = codes + base / 2;
    for (int64_t i = 0; i < n / 2; ++i) out[i] = static_cast<uint8_t>((q[2 * i] & 0xf) | ((q[2 * i + 1] & 0xf) << 4));
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t e = base + i;
      codes[e / 2] |= static_cast<uint8_t>((q[i] & 0xf) << ((e & 1) ? 4 : 0));
    }
  }
}

// Codes of one block into q[0..n); false when the block holds inf or nan.
template <bool kHalf>
[[gnu::always_inline]] inline bool quantize_block(const float* x, int64_t n, float div, float qmin, float qmax,
                                                  float eps, int8_t* q, float& scale_out,
                                                  const ScaleSearch* search, int64_t column) {
  // max(|min(min, 0)|, max(max, 0)) is the largest magnitude; as integers, the bits of
  // non-negative floats order like the floats, and inf/nan sort above every finite value.
  uint32_t largest = 0;
  for (int64_t i = 0; i < n; ++i) largest = std::max(largest, float_bits(x[i]) & 0x7fffffffu);
  if (largest >= 0x7f800000u) return false;
  const float amax = bits_float(largest);
  float scale = std::max(to_model_dtype<kHalf>(amax / div), eps);
  if (search) scale = search->block_scale(x, n, column, amax, scale);
  const float recip = to_model_dtype<kHalf>(1.0f / scale);
  for (int64_t i = 0; i < n; ++i) {
    // |y| <= amax * recip is about 8 or 128, far inside round_half_even_small's range.
    const float y = round_half_even_small(to_model_dtype<kHalf>(x[i] * recip));
    q[i] = static_cast<int8_t>(std::min(std::max(y, qmin), qmax));
  }
  scale_out = scale;
  return true;
}

template <bool kHalf>
[[gnu::always_inline]] inline bool quantize_all(const float* values, int64_t first_row, int64_t rows, int64_t cols, const QuantizedLayout& layout,
                  uint8_t* codes, uint8_t* scales) {
  const int64_t group = layout.group ? layout.group : cols;
  const int64_t blocks_per_row = cols / group;
  const float div = layout.bits == 4 ? 7.5f : 127.5f;
  const float qmin = layout.bits == 4 ? -8.0f : -128.0f;
  const float qmax = layout.bits == 4 ? 7.0f : 127.0f;
  const float eps = kHalf ? 0x1p-14f : 0x1p-126f;
  std::vector<int8_t> q(static_cast<size_t>(group));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < blocks_per_row; ++b) {
      float scale;
      if (!quantize_block<kHalf>(values + r * cols + b * group, group, div, qmin, qmax, eps, q.data(), scale,
                                  layout.search, b * group))
        return false;
      store_codes(q.data(), group, (first_row + r) * cols + b * group, layout.bits, codes);
      store_scale<kHalf>(scales, (first_row + r) * blocks_per_row + b, scale);
    }
  }
  return true;
}

}  // namespace

void store_block(const int8_t* q, int64_t n, int64_t base, int bits, DType dtype, float scale, int64_t scale_index,
                 uint8_t* codes, uint8_t* scales) {
  store_codes(q, n, base, bits, codes);
  if (dtype == DType::F16) store_scale<true>(scales, scale_index, scale);
  else store_scale<false>(scales, scale_index, scale);
}

PTE_VECTOR_CLONES bool quantize_rows_fp16(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                                          const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  return quantize_all<true>(values, first_row, rows, cols, layout, codes, scales);
}

PTE_VECTOR_CLONES bool quantize_rows_fp32(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                                          const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  return quantize_all<false>(values, first_row, rows, cols, layout, codes, scales);
}

bool quantize_rows(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                   const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  if (layout.dtype == DType::F16) return quantize_rows_fp16(values, first_row, rows, cols, layout, codes, scales);
  return quantize_rows_fp32(values, first_row, rows, cols, layout, codes, scales);
}

}  // namespace pte
