// The AVX2 variant (with FMA and F16C), compiled with those instruction sets enabled for this
// file only and selected at run time by cpu_supports. The fused multiply-adds of the dot
// products change only how the float32 sums round, as a different summation order would.
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

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__m256 round_half(__m256 v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }

// The dequantized values of nibbles 0..7 (lo) and 8..15 (hi, codes -8..-1) for one scale.
struct Q4Table {
  __m256 lo, hi;
  Q4Table(float scale, bool f16_scales) {
    const __m256 s = _mm256_set1_ps(scale);
    lo = _mm256_mul_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), s);
    hi = _mm256_mul_ps(_mm256_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1), s);
    if (f16_scales) {
      lo = round_half(lo);
      hi = round_half(hi);
    }
  }
  // The dequantized values of the eight nibbles of a little-endian 32-bit word.
  __m256 lookup(uint32_t word) const {
    const __m256i w = _mm256_set1_epi32(static_cast<int>(word));
    const __m256i index = _mm256_srlv_epi32(w, _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
    const __m256i high_bit = _mm256_sllv_epi32(w, _mm256_setr_epi32(28, 24, 20, 16, 12, 8, 4, 0));
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, index), _mm256_permutevar8x32_ps(hi, index),
                            _mm256_castsi256_ps(high_bit));
  }
  float scalar(uint32_t nibble) const {
    alignas(32) float t[16];
    _mm256_store_ps(t, lo);
    _mm256_store_ps(t + 8, hi);
    return t[nibble];
  }
};

uint32_t load_word(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

float dot_f32(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Four rows at a time, each with dot_f32's two sums and order.
void dot_rows(const float* x, size_t rows, const float* w, size_t k, float* out, size_t out_stride) {
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* x0 = x + r * k;
    __m256 a[4][2];
    for (auto& row : a) row[0] = row[1] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= k; i += 16) {
      const __m256 w0 = _mm256_loadu_ps(w + i), w1 = _mm256_loadu_ps(w + i + 8);
      for (size_t j = 0; j < 4; ++j) {
        a[j][0] = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + j * k + i), w0, a[j][0]);
        a[j][1] = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + j * k + i + 8), w1, a[j][1]);
      }
    }
    for (; i + 8 <= k; i += 8) {
      const __m256 w0 = _mm256_loadu_ps(w + i);
      for (size_t j = 0; j < 4; ++j) a[j][0] = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + j * k + i), w0, a[j][0]);
    }
    for (size_t j = 0; j < 4; ++j) {
      float sum = hsum(_mm256_add_ps(a[j][0], a[j][1]));
      for (size_t t = i; t < k; ++t) sum += x0[j * k + t] * w[t];
      out[(r + j) * out_stride] = sum;
    }
  }
  for (; r < rows; ++r) out[r * out_stride] = dot_f32(x + r * k, w, k);
}

// dot_panel: tiles of up to kTileRows x rows by kTileCols weight rows (with the weights and one x
// vector, the 16 registers), each of dot_f32's two sums one pass over the tile (elements
// 8j + 16t), in chunks of kChunk elements that stay in L1 across both passes.
constexpr size_t kTileRows = 4, kTileCols = 3, kChunk = 512;

template <size_t MR, size_t NR>
void dot_tile(const float* x, size_t xs, const float* w, size_t ws, size_t k, float* out, size_t out_stride) {
  __m256 sums[MR][NR][2];
  for (auto& row : sums)
    for (auto& s : row) s[0] = s[1] = _mm256_setzero_ps();
  auto pass = [&](size_t sum, size_t begin, size_t end, size_t step) {
    __m256 acc[MR][NR];
    for (size_t m = 0; m < MR; ++m)
      for (size_t n = 0; n < NR; ++n) acc[m][n] = sums[m][n][sum];
    for (size_t i = begin; i < end; i += step) {
      __m256 wv[NR];
      for (size_t n = 0; n < NR; ++n) wv[n] = _mm256_loadu_ps(w + n * ws + i);
      for (size_t m = 0; m < MR; ++m) {
        const __m256 xv = _mm256_loadu_ps(x + m * xs + i);
        for (size_t n = 0; n < NR; ++n) acc[m][n] = _mm256_fmadd_ps(xv, wv[n], acc[m][n]);
      }
    }
    for (size_t m = 0; m < MR; ++m)
      for (size_t n = 0; n < NR; ++n) sums[m][n][sum] = acc[m][n];
  };
  const size_t main = k / 16 * 16;
  for (size_t c = 0; c < main; c += kChunk)
    for (size_t j = 0; j < 2; ++j) pass(j, c + 8 * j, std::min(main, c + kChunk), 16);
  size_t i = main;
  if (i + 8 <= k) {  // dot_f32's 8-element step
    pass(0, i, i + 1, 1);
    i += 8;
  }
  for (size_t m = 0; m < MR; ++m)
    for (size_t n = 0; n < NR; ++n) {
      float sum = hsum(_mm256_add_ps(sums[m][n][0], sums[m][n][1]));
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
  for (size_t n = 0; n < w_rows; n += kTileCols) {
    const size_t nr = std::min(kTileCols, w_rows - n);
    for (size_t r = 0; r < rows; r += kTileRows) {
      const size_t mr = std::min(kTileRows, rows - r);
      kTiles[mr - 1][nr - 1](x + r * x_stride, x_stride, w + n * w_stride, w_stride, k, out + r * out_stride + n,
                             out_stride);
    }
  }
}

float dot_f16(const float* x, const uint16_t* w, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)));
    __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8)));
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), w0, acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), w1, acc1);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)));
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), w0, acc0);
  }
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += x[i] * half_to_float(w[i]);
  return sum;
}

float dot_q4(const float* x, const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales) {
  // The order of dot_f32 on the dequantized row when groups are multiples of 16 (c4w, b4w):
  // 16-element steps into two sums, then 8, then the tail in order.
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  float sum = 0;
  bool summed = false;
  for (size_t g = 0; g * group < n; ++g) {
    const Q4Table table(q4_scale(scales, f16_scales, g), f16_scales);
    const size_t end = (g + 1) * group;
    for (; i + 16 <= end; i += 16) {
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), table.lookup(load_word(codes + i / 2)), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), table.lookup(load_word(codes + i / 2 + 4)), acc1);
    }
    for (; i + 8 <= end; i += 8)
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), table.lookup(load_word(codes + i / 2)), acc0);
    for (; i < end; i += 2) {
      if (!summed) {
        sum = hsum(_mm256_add_ps(acc0, acc1));
        acc0 = acc1 = _mm256_setzero_ps();
        summed = true;
      }
      sum += x[i] * table.scalar(codes[i / 2] & 0xf);
      sum += x[i + 1] * table.scalar(codes[i / 2] >> 4);
    }
  }
  return summed ? sum + hsum(_mm256_add_ps(acc0, acc1)) : hsum(_mm256_add_ps(acc0, acc1));
}

void dequant_q4(const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales, float* out) {
  for (size_t g = 0; g * group < n; ++g) {
    const Q4Table table(q4_scale(scales, f16_scales, g), f16_scales);
    const size_t begin = g * group, end = begin + group;
    size_t i = begin;
    for (; i + 8 <= end; i += 8) _mm256_storeu_ps(out + i, table.lookup(load_word(codes + i / 2)));
    for (; i < end; i += 2) {
      out[i] = table.scalar(codes[i / 2] & 0xf);
      out[i + 1] = table.scalar(codes[i / 2] >> 4);
    }
  }
}

void round_f16(float* x, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, round_half(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) x[i] = round_to_half_fast(x[i]);
}

void axpy(float a, const float* x, float* y, size_t n) {
  const __m256 av = _mm256_set1_ps(a);
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(av, _mm256_loadu_ps(x + i))));
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

namespace detail {
const SimdKernels kAvx2Kernels = {dot_f32, dot_rows, dot_panel, dot_f16, dot_q4, dequant_q4, nullptr, nullptr, nullptr, round_f16, axpy};
}

}  // namespace pte::fast
