#pragma once
// The default quantization (quantize.h) fused with the cast that precedes it: rows are read
// straight from the checkpoint's bytes (F32, F16 or BF16), and each element is converted to
// float, rounded to the model dtype T, reduced to its block's maximum and coded in one pass
// over the row (a second read of the row, still in cache, does the coding). The results are
// bit-identical to read_f32 + rounding to T + quantize_rows. Vector variants are chosen at
// run time by the CPU's features.
#include <cstdint>
#include <vector>

#include "common/dtype.h"
#include "exporter/program/quantize.h"

namespace pte {

enum class QuantizeVariant { Portable, Avx2, Avx512 };

bool cpu_supports(QuantizeVariant variant);
const char* variant_name(QuantizeVariant variant);
std::vector<QuantizeVariant> all_quantize_variants();
QuantizeVariant best_quantize_variant();  // computed once

// As quantize_rows, with `rows` contiguous rows of `cols` elements of `source_dtype` (F32, F16
// or BF16) at `source`. Returns false at a block holding inf or nan after the cast to T (the
// caller reports it; codes and scales written so far are then unspecified).
bool quantize_source_rows(QuantizeVariant variant, const uint8_t* source, DType source_dtype,
                          int64_t first_row, int64_t rows, int64_t cols, const QuantizedLayout& layout,
                          uint8_t* codes, uint8_t* scales);
inline bool quantize_source_rows(const uint8_t* source, DType source_dtype, int64_t first_row, int64_t rows,
                                 int64_t cols, const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  return quantize_source_rows(best_quantize_variant(), source, source_dtype, first_row, rows, cols, layout,
                              codes, scales);
}

namespace detail {
using QuantizeSourceRowsFn = bool (*)(const uint8_t*, DType, int64_t, int64_t, int64_t, const QuantizedLayout&,
                                      uint8_t*, uint8_t*);
bool quantize_source_rows_portable(const uint8_t*, DType, int64_t, int64_t, int64_t, const QuantizedLayout&,
                                   uint8_t*, uint8_t*);
bool quantize_source_rows_avx2(const uint8_t*, DType, int64_t, int64_t, int64_t, const QuantizedLayout&,
                               uint8_t*, uint8_t*);
bool quantize_source_rows_avx512(const uint8_t*, DType, int64_t, int64_t, int64_t, const QuantizedLayout&,
                                 uint8_t*, uint8_t*);
}  // namespace detail

}  // namespace pte
