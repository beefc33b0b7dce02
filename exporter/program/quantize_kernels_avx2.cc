// The AVX2 + F16C variant: 8 lanes; fp16 rounding by a round trip through F16C's conversion
// (round to nearest even, as the reference's cast), codes by cvtps (the default rounding mode,
// nearest even) and integer clamps.
#include <immintrin.h>

#include "exporter/program/quantize_kernel_body.h"

namespace pte::detail {
namespace {

struct Avx2 {
  static constexpr int64_t kWidth = 8;
  using F = __m256;
  using I = __m256i;
  static F round_half(F v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }
  template <DType S>
  static F load(const uint8_t* p) {
    if constexpr (S == DType::F32) {
      return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
    } else {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      if constexpr (S == DType::F16) return _mm256_cvtph_ps(h);
      else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
  }
  static I zero() { return _mm256_setzero_si256(); }
  static I max_abs_bits(I acc, F v) {
    return _mm256_max_epu32(acc, _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fffffff)));
  }
  static uint32_t hmax(I acc) {
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, _MM_SHUFFLE(1, 0, 3, 2)));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, _MM_SHUFFLE(2, 3, 0, 1)));
    return static_cast<uint32_t>(_mm_cvtsi128_si32(m));
  }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static I codes(F y, int32_t qmin, int32_t qmax) {
    const I q = _mm256_cvtps_epi32(y);
    return _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(qmin)), _mm256_set1_epi32(qmax));
  }
  // 8 codes in -128..127 to 8 bytes, in order.
  static __m128i bytes(I q) {
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    return _mm_packs_epi16(w, w);
  }
  static void store_i8(int8_t* dst, I q) { _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), bytes(q)); }
  // 8 codes in -8..7 to 4 bytes: low nibble from the even element, high nibble from the odd one.
  static void store_i4_pairs(uint8_t* dst, I q) {
    const __m128i n = _mm_and_si128(bytes(q), _mm_set1_epi8(0x0f));       // 16-bit words e | o << 8
    const __m128i w = _mm_and_si128(_mm_or_si128(n, _mm_srli_epi16(n, 4)), _mm_set1_epi16(0xff));
    const int32_t packed = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
    std::memcpy(dst, &packed, 4);
  }
};

}  // namespace

bool quantize_source_rows_avx2(const uint8_t* source, DType source_dtype, int64_t first_row, int64_t rows,
                               int64_t cols, const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  return quantize_source_rows_with<Avx2>(source, source_dtype, first_row, rows, cols, layout, codes, scales);
}

}  // namespace pte::detail
