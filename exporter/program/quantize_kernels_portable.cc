// The scalar variant: the reference's steps one element at a time, for any CPU.
#include "exporter/program/quantize_kernel_body.h"

namespace pte::detail {
namespace {

struct Scalar {
  static constexpr int64_t kWidth = 0;
  using F = float;
  using I = uint32_t;
  static F round_half(F v) { return round_to_half_fast(v); }
  template <DType S>
  static F load(const uint8_t* p) { return load_scalar<S>(p, 0); }
  static I zero() { return 0; }
  static I max_abs_bits(I acc, F v) { return std::max(acc, float_bits(v) & 0x7fffffffu); }
  static uint32_t hmax(I acc) { return acc; }
  static F set1(float v) { return v; }
  static F mul(F a, F b) { return a * b; }
  static I codes(F, int32_t, int32_t) { return 0; }
  static void store_i8(int8_t*, I) {}
  static void store_i4_pairs(uint8_t*, I) {}
};

}  // namespace

bool quantize_source_rows_portable(const uint8_t* source, DType source_dtype, int64_t first_row, int64_t rows,
                                   int64_t cols, const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  return quantize_source_rows_with<Scalar>(source, source_dtype, first_row, rows, cols, layout, codes, scales);
}

}  // namespace pte::detail
