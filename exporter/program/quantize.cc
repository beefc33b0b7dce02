#include "exporter/program/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/float16.h"

namespace pte {
namespace {

inline float to_model_dtype(float v, DType t) { return t == DType::F16 ? round_to_half(v) : v; }

void store_scale(uint8_t* scales, int64_t index, float scale, DType t) {
  if (t == DType::F16) {
    uint16_t h = float_to_half(scale);
    std::memcpy(scales + 2 * index, &h, 2);
  } else {
    std::memcpy(scales + 4 * index, &scale, 4);
  }
}

}  // namespace

void quantize_rows(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                   const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  const DType t = layout.dtype;
  const int64_t group = layout.group ? layout.group : cols;
  const int64_t blocks_per_row = cols / group;
  const float div = layout.bits == 4 ? 7.5f : 127.5f;
  const float qmin = layout.bits == 4 ? -8.0f : -128.0f;
  const float qmax = layout.bits == 4 ? 7.0f : 127.0f;
  const float eps = t == DType::F16 ? 0x1p-14f : 0x1p-126f;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < blocks_per_row; ++b) {
      const float* x = values + r * cols + b * group;
      float lo = 0.0f, hi = 0.0f;
      for (int64_t i = 0; i < group; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
      }
      const float amax = std::max(-lo, hi);
      const float scale = std::max(to_model_dtype(amax / div, t), eps);
      const float recip = to_model_dtype(1.0f / scale, t);
      store_scale(scales, (first_row + r) * blocks_per_row + b, scale, t);
      const int64_t base = (first_row + r) * cols + b * group;
      for (int64_t i = 0; i < group; ++i) {
        const float y = to_model_dtype(x[i] * recip, t);
        const int q = static_cast<int>(std::clamp(std::nearbyint(y), qmin, qmax));
        const int64_t e = base + i;
        if (layout.bits == 8) {
          codes[e] = static_cast<uint8_t>(static_cast<int8_t>(q));
        } else {
          codes[e / 2] |= static_cast<uint8_t>((q & 0xf) << ((e & 1) ? 4 : 0));
        }
      }
    }
  }
}

}  // namespace pte
