#pragma once
// Symmetric weight-only quantization, bit-exact with the reference formula (SPEC §6). Every
// step is done in the model dtype T: the exact result of each operation is rounded once to T.
//   amax  = max(|min(min(block), 0)|, max(max(block), 0))
//   scale = max(T(amax / div), smallest normal of T)      div = 7.5 (int4), 127.5 (int8)
//   recip = T(1 / scale);  y = T(x * recip);  q = clamp(round_half_even(y), qmin, qmax)
#include <cstdint>

#include "common/dtype.h"

namespace pte {

struct ScaleSearch;

struct QuantizedLayout {
  int bits;        // 4 or 8
  int64_t group;   // block length along a row; 0 means the whole row
  DType dtype;     // T: F16 or F32 (the scales' dtype)
  const ScaleSearch* search = nullptr;  // when set, it picks each block's scale (scale_search.h)
};

// Quantizes `rows` rows of `cols` values (already exact values of T, given as float).
// Codes go to `codes` at element index `first_row * cols` onwards (int8: one byte each;
// int4: element i in byte i/2, low nibble when i is even; the buffer must start zeroed).
// Scales go to `scales` as T, at scale index `first_row * blocks_per_row` onwards.
// Returns false (and stops) at a block holding inf or nan, which has no scale.
bool quantize_rows(const float* values, int64_t first_row, int64_t rows, int64_t cols,
                   const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales);

// Stores one block's codes q[0..n) at element index `base` of `codes` (laid out as above) and its
// scale, a value of layout dtype T, at scale index `scale_index`.
void store_block(const int8_t* q, int64_t n, int64_t base, int bits, DType dtype, float scale, int64_t scale_index,
                 uint8_t* codes, uint8_t* scales);

}  // namespace pte
