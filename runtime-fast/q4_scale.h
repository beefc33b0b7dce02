#pragma once
// The scale of group g of an int4 row, read in place: binary16 bits or float32 (FORMAT.md §5).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/float16.h"

namespace pte::fast {

inline float q4_scale(const void* scales, bool f16_scales, size_t g) {
  if (f16_scales) {
    uint16_t h;
    std::memcpy(&h, static_cast<const uint8_t*>(scales) + 2 * g, 2);
    return half_to_float(h);
  }
  float f;
  std::memcpy(&f, static_cast<const uint8_t*>(scales) + 4 * g, 4);
  return f;
}

}  // namespace pte::fast
