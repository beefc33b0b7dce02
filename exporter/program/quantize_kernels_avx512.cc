// The AVX-512 variant: 16 lanes, the same steps as the AVX2 one.
#include <immintrin.h>

#include "exporter/program/quantize_kernel_body.h"

namespace pte::detail {
namespace {

struct Avx512 {
  static constexpr int64_t kWidth = 16;
  using F = __m512;
  using I = __m512i;
  static F round_half(F v) {
    return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  template <DType S>
  static F load(const uint8_t* p) {
    if constexpr (S == DType::F32) {
      return _mm512_loadu_ps(p);
    } else {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      if constexpr (S == DType::F16) return _mm512_cvtph_ps(h);
      else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
  }
  static I zero() { return _mm512_setzero_si512(); }
  static I max_abs_bits(I acc, F v) {
    return _mm512_max_epu32(acc, _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
  }
  static uint32_t hmax(I acc) { return _mm512_reduce_max_epu32(acc); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static I codes(F y, int32_t qmin, int32_t qmax) {
    const I q = _mm512_cvtps_epi32(y);
    return _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(qmin)), _mm512_set1_epi32(qmax));
  }
  static void store_i8(int8_t* dst, I q) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(q));
  }
  // 16 codes in -8..7 to 8 bytes: each 64-bit lane holds an (even, odd) pair; the odd code's
  // nibble moves next to the even one's, and the lanes' low bytes are the result.
  static void store_i4_pairs(uint8_t* dst, I q) {
    const I n = _mm512_and_si512(q, _mm512_set1_epi32(0x0f));
    const I pairs = _mm512_or_si512(n, _mm512_srli_epi64(n, 28));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi64_epi8(pairs));
  }
};

}  // namespace

bool quantize_source_rows_avx512(const uint8_t* source, DType source_dtype, int64_t first_row, int64_t rows,
                                 int64_t cols, const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  return quantize_source_rows_with<Avx512>(source, source_dtype, first_row, rows, cols, layout, codes, scales);
}

}  // namespace pte::detail
