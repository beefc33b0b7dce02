// The AVX-512 variant (AVX-512F with F16C and FMA), compiled with those instruction sets for this
// file only and selected at run time by cpu_supports. An int4 row is dequantized 16 codes at a
// time with one permute of a 16-entry table held in a register. Its dot products share one
// summation order (32-element steps into two sums, 16, then the tail in order), so a weight row
// gives the same sum read in place (T = 1) or decoded first (several rows).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "common/float16.h"
#include "runtime-fast/q4_scale.h"
#include "runtime-fast/simd_kernels.h"

namespace pte::fast {
namespace {

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

// The summation order of every dot product of this variant: 64-element steps into four sums
// (elements 0-15, 16-31, 32-47, 48-63 of each step), then 32- and 16-element steps into the
// first sums, (s0 + s1) + (s2 + s3), then the tail in order. Four sums keep the fused
// multiply-adds from waiting on each other's latency.
struct Sums {
  __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  float total() const { return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), _mm512_add_ps(s[2], s[3]))); }
};

// Runs the vector steps of the order over [0, n) for 16-element blocks (load(i) gives the
// weights of elements i..i+15); returns where the tail starts.
template <typename Block>
size_t sum_blocks(size_t n, Sums& sums, Block block) {
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (size_t j = 0; j < 4; ++j) block(i + 16 * j, sums.s[j]);
  for (; i + 32 <= n; i += 32) {
    block(i, sums.s[0]);
    block(i + 16, sums.s[1]);
  }
  for (; i + 16 <= n; i += 16) block(i, sums.s[0]);
  return i;
}

template <typename Load>
float dot_pattern(const float* x, size_t n, Load load, float (*weight)(size_t, const void*), const void* ctx) {
  Sums sums;
  size_t i = sum_blocks(n, sums, [&](size_t at, __m512& acc) { acc = _mm512_fmadd_ps(_mm512_loadu_ps(x + at), load(at), acc); });
  float sum = sums.total();
  for (; i < n; ++i) sum += x[i] * weight(i, ctx);
  return sum;
}

float dot_f32(const float* a, const float* b, size_t n) {
  return dot_pattern(
      a, n, [b](size_t i) { return _mm512_loadu_ps(b + i); },
      [](size_t i, const void* w) { return static_cast<const float*>(w)[i]; }, b);
}

// Four rows at a time, each in dot_f32's order.
void dot_rows(const float* x, size_t rows, const float* w, size_t k, float* out, size_t out_stride) {
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* x0 = x + r * k;
    Sums sums[4];
    size_t i = 0;
    for (; i + 64 <= k; i += 64)
      for (size_t b = 0; b < 4; ++b) {
        const __m512 wb = _mm512_loadu_ps(w + i + 16 * b);
        for (size_t j = 0; j < 4; ++j)
          sums[j].s[b] = _mm512_fmadd_ps(_mm512_loadu_ps(x0 + j * k + i + 16 * b), wb, sums[j].s[b]);
      }
    for (; i + 32 <= k; i += 32)
      for (size_t b = 0; b < 2; ++b) {
        const __m512 wb = _mm512_loadu_ps(w + i + 16 * b);
        for (size_t j = 0; j < 4; ++j)
          sums[j].s[b] = _mm512_fmadd_ps(_mm512_loadu_ps(x0 + j * k + i + 16 * b), wb, sums[j].s[b]);
      }
    for (; i + 16 <= k; i += 16) {
      const __m512 wb = _mm512_loadu_ps(w + i);
      for (size_t j = 0; j < 4; ++j) sums[j].s[0] = _mm512_fmadd_ps(_mm512_loadu_ps(x0 + j * k + i), wb, sums[j].s[0]);
    }
    for (size_t j = 0; j < 4; ++j) {
      float sum = sums[j].total();
      for (size_t t = i; t < k; ++t) sum += x0[j * k + t] * w[t];
      out[(r + j) * out_stride] = sum;
    }
  }
  for (; r < rows; ++r) out[r * out_stride] = dot_f32(x + r * k, w, k);
}

// dot_panel: tiles of up to kTileRows x rows by kTileCols weight rows, every product in a
// register. Each of the four sums of the order is one pass over the tile (elements 16j + 64t),
// done in chunks of kChunk elements so that a chunk of the tile's rows stays in L1 across the
// four passes; the sums go to memory between passes, which leaves the order unchanged.
constexpr size_t kTileRows = 4, kTileCols = 6, kChunk = 512;

template <size_t MR, size_t NR>
void dot_tile(const float* x, size_t xs, const float* w, size_t ws, size_t k, float* out, size_t out_stride) {
  Sums sums[MR][NR];
  auto pass = [&](size_t sum, size_t begin, size_t end, size_t step) {
    __m512 acc[MR][NR];
    for (size_t m = 0; m < MR; ++m)
      for (size_t n = 0; n < NR; ++n) acc[m][n] = sums[m][n].s[sum];
    for (size_t i = begin; i < end; i += step) {
      __m512 wv[NR];
      for (size_t n = 0; n < NR; ++n) wv[n] = _mm512_loadu_ps(w + n * ws + i);
      for (size_t m = 0; m < MR; ++m) {
        const __m512 xv = _mm512_loadu_ps(x + m * xs + i);
        for (size_t n = 0; n < NR; ++n) acc[m][n] = _mm512_fmadd_ps(xv, wv[n], acc[m][n]);
      }
    }
    for (size_t m = 0; m < MR; ++m)
      for (size_t n = 0; n < NR; ++n) sums[m][n].s[sum] = acc[m][n];
  };
  const size_t main = k / 64 * 64;
  for (size_t c = 0; c < main; c += kChunk)
    for (size_t j = 0; j < 4; ++j) pass(j, c + 16 * j, std::min(main, c + kChunk), 64);
  size_t i = main;  // sum_blocks' 32- and 16-element steps
  if (i + 32 <= k) {
    pass(0, i, i + 1, 1);
    pass(1, i + 16, i + 17, 1);
    i += 32;
  }
  if (i + 16 <= k) {
    pass(0, i, i + 1, 1);
    i += 16;
  }
  for (size_t m = 0; m < MR; ++m)
    for (size_t n = 0; n < NR; ++n) {
      float sum = sums[m][n].total();
      for (size_t t = i; t < k; ++t) sum += x[m * xs + t] * w[n * ws + t];
      out[m * out_stride + n] = sum;
    }
}

using TileFn = void (*)(const float*, size_t, const float*, size_t, size_t, float*, size_t);

template <size_t MR, size_t... NR>
constexpr std::array<TileFn, sizeof...(NR)> tile_row(std::index_sequence<NR...>) {
  return {dot_tile<MR, NR + 1>...};
}

template <size_t... MR>
constexpr std::array<std::array<TileFn, kTileCols>, sizeof...(MR)> tile_table(std::index_sequence<MR...>) {
  return {tile_row<MR + 1>(std::make_index_sequence<kTileCols>())...};
}

constexpr auto kTiles = tile_table(std::make_index_sequence<kTileRows>());

void dot_panel(const float* x, size_t x_stride, size_t rows, const float* w, size_t w_stride, size_t w_rows, size_t k,
               float* out, size_t out_stride) {
  // x rows in blocks of about 256 KiB, which stay in L2 beside the weights while every tile of
  // weight rows passes over them (wide inputs: 32 rows of 8192 would not).
  const size_t block = std::max(kTileRows, (size_t{1} << 16) / std::max<size_t>(1, k) / kTileRows * kTileRows);
  for (size_t r0 = 0; r0 < rows; r0 += block) {
    const size_t r_end = std::min(rows, r0 + block);
    for (size_t n = 0; n < w_rows; n += kTileCols) {
      const size_t nr = std::min(kTileCols, w_rows - n);
      for (size_t r = r0; r < r_end; r += kTileRows) {
        const size_t mr = std::min(kTileRows, r_end - r);
        kTiles[mr - 1][nr - 1](x + r * x_stride, x_stride, w + n * w_stride, w_stride, k, out + r * out_stride + n,
                               out_stride);
      }
    }
  }
}

float dot_f16(const float* x, const uint16_t* w, size_t n) {
  return dot_pattern(
      x, n, [w](size_t i) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i))); },
      [](size_t i, const void* p) { return half_to_float(static_cast<const uint16_t*>(p)[i]); }, w);
}

float dot_q4(const float* x, const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales) {
  if (group == n) {  // one scale per row (c4w)
    const Q4Table table(q4_scale(scales, f16_scales, 0), f16_scales);
    struct Ctx { const Q4Table* t; const uint8_t* c; } ctx{&table, codes};
    return dot_pattern(
        x, n, [&](size_t i) { return table.lookup(codes + i / 2); },
        [](size_t i, const void* p) {
          const Ctx& c = *static_cast<const Ctx*>(p);
          return c.t->scalar[(i & 1) ? c.c[i / 2] >> 4 : c.c[i / 2] & 0xf];
        },
        &ctx);
  }
  // Groups that the split path does not take: dot_f32's order within each group, then the groups'
  // sums in order.
  float sum = 0;
  for (size_t g = 0; g * group < n; ++g) {
    const Q4Table table(q4_scale(scales, f16_scales, g), f16_scales);
    const size_t begin = g * group;
    Sums sums;
    size_t i = begin + sum_blocks(group, sums, [&](size_t at, __m512& acc) {
      acc = _mm512_fmadd_ps(_mm512_loadu_ps(x + begin + at), table.lookup(codes + (begin + at) / 2), acc);
    });
    sum += sums.total();
    for (; i < begin + group; i += 2) {
      sum += x[i] * table.scalar[codes[i / 2] & 0xf];
      sum += x[i + 1] * table.scalar[codes[i / 2] >> 4];
    }
  }
  return sum;
}

void dequant_q4(const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales, float* out) {
  for (size_t g = 0; g * group < n; ++g) {
    const Q4Table table(q4_scale(scales, f16_scales, g), f16_scales);
    size_t i = g * group;
    const size_t end = i + group;
    for (; i + 16 <= end; i += 16) _mm512_storeu_ps(out + i, table.lookup(codes + i / 2));
    for (; i < end; i += 2) {
      out[i] = table.scalar[codes[i / 2] & 0xf];
      out[i + 1] = table.scalar[codes[i / 2] >> 4];
    }
  }
}

void split(const float* x, size_t n, float* out) {
  for (size_t i = 0; i + 32 <= n; i += 32)
    for (size_t j = 0; j < 16; ++j) {
      out[i + j] = x[i + 2 * j];
      out[i + 16 + j] = x[i + 2 * j + 1];
    }
}

// The values of 32 codes in 16 bytes: the even elements (low nibbles), then the odd ones.
struct SplitCodes {
  __m512 even, odd;
  SplitCodes(const Q4Table& t, const uint8_t* bytes) {
    const __m512i lanes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes)));
    even = _mm512_permutexvar_ps(lanes, t.values);  // only the low 4 bits of the index count
    odd = _mm512_permutexvar_ps(_mm512_srli_epi32(lanes, 4), t.values);
  }
};

float dot_q4_split(const float* x, const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales) {
  // dot_f32's order on split rows: blocks of 32 codes give sums 0-1 or 2-3 of a 64-step.
  Sums sums;
  size_t i = 0;
  auto block = [&](const Q4Table& table, size_t at, size_t first) {
    const SplitCodes w(table, codes + at / 2);
    sums.s[first] = _mm512_fmadd_ps(_mm512_loadu_ps(x + at), w.even, sums.s[first]);
    sums.s[first + 1] = _mm512_fmadd_ps(_mm512_loadu_ps(x + at + 16), w.odd, sums.s[first + 1]);
  };
  if (group == n) {
    const Q4Table table(q4_scale(scales, f16_scales, 0), f16_scales);
    for (; i + 64 <= n; i += 64) {
      block(table, i, 0);
      block(table, i + 32, 2);
    }
    if (i < n) block(table, i, 0);
    return sums.total();
  }
  for (size_t g = 0; i < n; ++g) {  // groups of 32: each 64-step spans two groups
    const Q4Table table(q4_scale(scales, f16_scales, g), f16_scales);
    for (const size_t end = i + group; i < end; i += 32) block(table, i, (i / 32) % 2 ? 2 : 0);
  }
  return sums.total();
}

void dequant_q4_split(const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales, float* out) {
  for (size_t g = 0, i = 0; i < n; ++g) {
    const Q4Table table(q4_scale(scales, f16_scales, g), f16_scales);
    for (const size_t end = i + group; i < end; i += 32) {
      const SplitCodes w(table, codes + i / 2);
      _mm512_storeu_ps(out + i, w.even);
      _mm512_storeu_ps(out + i + 16, w.odd);
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
const SimdKernels kAvx512Kernels = {dot_f32, dot_rows, dot_panel, dot_f16, dot_q4, dequant_q4, split, dot_q4_split, dequant_q4_split, round_f16, axpy};
}

}  // namespace pte::fast
