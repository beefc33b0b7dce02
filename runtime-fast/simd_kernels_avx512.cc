// The AVX-512 variant (AVX-512F with F16C and FMA), compiled with those instruction sets for this
// file only and selected at run time by cpu_supports. An int4 row is dequantized 16 codes at a
// time with one permute of a 16-entry table held in a register. Its dot products share one
// summation order (32-element steps into two sums, 16, then the tail in order), so a weight row
// gives the same sum read in place (T = 1) or decoded first (several rows).
#include <immintrin.h>

#include <cstring>

#include "common/float16.h"
#include "runtime-fast/simd_kernels.h"

namespace pte::fast {
namespace {

float scale_at(const void* scales, bool f16_scales, size_t g) {
  if (f16_scales) {
    uint16_t h;
    std::memcpy(&h, static_cast<const uint8_t*>(scales) + 2 * g, 2);
    return half_to_float(h);
  }
  float f;
  std::memcpy(&f, static_cast<const uint8_t*>(scales) + 4 * g, 4);
  return f;
}

__m512 round_half(__m512 v) { return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }

// The 16 dequantized values of one scale, indexed by the nibble (codes 0..7, then -8..-1).
struct Q4Table {
  __m512 values;
  alignas(64) float scalar[16];
  Q4Table(float scale, bool f16_scales) {
    values = _mm512_mul_ps(_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1), _mm512_set1_ps(scale));
    if (f16_scales) values = round_half(values);
    _mm512_store_ps(scalar, values);
  }
  // The values of the 16 codes in 8 bytes (element 2k in the low nibble of byte k).
  __m512 lookup(const uint8_t* bytes) const {
    __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes));
    __m512i lanes = _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(b, b));  // each byte twice
    __m512i index = _mm512_srlv_epi32(lanes, _mm512_set4_epi32(4, 0, 4, 0));  // low, high nibble
    return _mm512_permutexvar_ps(index, values);  // only the low 4 bits of the index count
  }
};

template <typename Load>
float dot_pattern(const float* x, size_t n, Load load, float (*weight)(size_t, const void*), const void* ctx) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), load(i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), load(i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), load(i), acc0);
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += x[i] * weight(i, ctx);
  return sum;
}

float dot_f32(const float* a, const float* b, size_t n) {
  return dot_pattern(
      a, n, [b](size_t i) { return _mm512_loadu_ps(b + i); },
      [](size_t i, const void* w) { return static_cast<const float*>(w)[i]; }, b);
}

float dot_f16(const float* x, const uint16_t* w, size_t n) {
  return dot_pattern(
      x, n, [w](size_t i) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i))); },
      [](size_t i, const void* p) { return half_to_float(static_cast<const uint16_t*>(p)[i]); }, w);
}

float dot_q4(const float* x, const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales) {
  if (group == n) {  // one scale per row (c4w)
    const Q4Table table(scale_at(scales, f16_scales, 0), f16_scales);
    struct Ctx { const Q4Table* t; const uint8_t* c; } ctx{&table, codes};
    return dot_pattern(
        x, n, [&](size_t i) { return table.lookup(codes + i / 2); },
        [](size_t i, const void* p) {
          const Ctx& c = *static_cast<const Ctx*>(p);
          return c.t->scalar[(i & 1) ? c.c[i / 2] >> 4 : c.c[i / 2] & 0xf];
        },
        &ctx);
  }
  // Groups (b4w: 32): the same order as dot_f32 when the groups are multiples of 32.
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  float sum = 0;
  bool summed = false;
  size_t i = 0;
  for (size_t g = 0; g * group < n; ++g) {
    const Q4Table table(scale_at(scales, f16_scales, g), f16_scales);
    const size_t end = (g + 1) * group;
    for (; i + 32 <= end; i += 32) {
      acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), table.lookup(codes + i / 2), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), table.lookup(codes + i / 2 + 8), acc1);
    }
    for (; i + 16 <= end; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), table.lookup(codes + i / 2), acc0);
    for (; i < end; i += 2) {
      if (!summed) {
        sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
        acc0 = acc1 = _mm512_setzero_ps();
        summed = true;
      }
      sum += x[i] * table.scalar[codes[i / 2] & 0xf];
      sum += x[i + 1] * table.scalar[codes[i / 2] >> 4];
    }
  }
  const float vector_sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  return summed ? sum + vector_sum : vector_sum;
}

void dequant_q4(const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales, float* out) {
  for (size_t g = 0; g * group < n; ++g) {
    const Q4Table table(scale_at(scales, f16_scales, g), f16_scales);
    size_t i = g * group;
    const size_t end = i + group;
    for (; i + 16 <= end; i += 16) _mm512_storeu_ps(out + i, table.lookup(codes + i / 2));
    for (; i < end; i += 2) {
      out[i] = table.scalar[codes[i / 2] & 0xf];
      out[i + 1] = table.scalar[codes[i / 2] >> 4];
    }
  }
}

void round_f16(float* x, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, round_half(_mm512_loadu_ps(x + i)));
  for (; i < n; ++i) x[i] = round_to_half_fast(x[i]);
}

void axpy(float a, const float* x, float* y, size_t n) {
  const __m512 av = _mm512_set1_ps(a);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_mul_ps(av, _mm512_loadu_ps(x + i))));
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

namespace detail {
const SimdKernels kAvx512Kernels = {dot_f32, dot_f16, dot_q4, dequant_q4, round_f16, axpy};
}

}  // namespace pte::fast
