#pragma once
// The inner loops of the fast executor, one table per CPU variant (chosen at run time). Every
// variant computes the same values up to the order of float32 summation: products and the
// dequantized weights are exact as FORMAT.md defines them, only the accumulation order differs.
#include <cstddef>
#include <cstdint>

namespace pte::fast {

enum class CpuVariant { Portable, Avx2, Avx512 };

struct SimdKernels {
  // Σ a[i]·b[i].
  float (*dot_f32)(const float* a, const float* b, size_t n);
  // out[r * out_stride] = dot_f32(x + r * k, w, k) for r < rows, bit for bit, with each w load
  // shared by several rows (prefill).
  void (*dot_rows)(const float* x, size_t rows, const float* w, size_t k, float* out, size_t out_stride);
  // out[r * out_stride + n] = dot_f32(x + r * x_stride, w + n * w_stride, k) for r < rows,
  // n < w_rows, bit for bit: prefill's linears, with each load of x and w shared by a tile of
  // products. Strides that are not multiples of 4 KiB keep the rows out of each other's L1 sets.
  void (*dot_panel)(const float* x, size_t x_stride, size_t rows, const float* w, size_t w_stride, size_t w_rows,
                    size_t k, float* out, size_t out_stride);
  // Σ x[i]·w[i], w IEEE binary16 bits.
  float (*dot_f16)(const float* x, const uint16_t* w, size_t n);
  // Σ x[i]·dequant(i) over int4 codes (element 2k in the low nibble of codes[k]), one scale per
  // `group` elements (n a multiple of group, group even): dequant = round_s(code × scale), round_s
  // rounding to the scales' dtype (binary16 bits when f16_scales, else float32).
  float (*dot_q4)(const float* x, const uint8_t* codes, size_t n, size_t group, const void* scales,
                  bool f16_scales);
  // The same dequantized values written out: out[i] = dequant(i).
  void (*dequant_q4)(const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales,
                     float* out);
  // Optional (nullptr when the variant has none): int4 rows in the split layout, where every 32
  // elements are stored as their 16 even elements then their 16 odd ones (the order of the
  // nibbles in 16 bytes of codes). split(x) writes x in that layout; dot_q4_split takes x split
  // and dequant_q4_split writes the row split, so that dot_rows on split rows sums exactly as
  // dot_q4_split does. n and group are multiples of 32.
  void (*split)(const float* x, size_t n, float* out);
  float (*dot_q4_split)(const float* x_split, const uint8_t* codes, size_t n, size_t group, const void* scales,
                        bool f16_scales);
  void (*dequant_q4_split)(const uint8_t* codes, size_t n, size_t group, const void* scales, bool f16_scales,
                           float* out);
  // x[i] = round_to_half(x[i]) (round to nearest even; ±inf from 65520 on).
  void (*round_f16)(float* x, size_t n);
  // y[i] += a·x[i] (one product, one sum: no fused multiply-add).
  void (*axpy)(float a, const float* x, float* y, size_t n);
};

// Whether this CPU can run `variant` (Portable always).
bool cpu_supports(CpuVariant variant);
// The fastest variant this CPU supports.
CpuVariant best_cpu_variant();
const char* variant_name(CpuVariant variant);
// The kernels of `variant`; the caller checks cpu_supports first.
const SimdKernels& simd_kernels(CpuVariant variant);

namespace detail {
extern const SimdKernels kPortableKernels;
extern const SimdKernels kAvx2Kernels;
extern const SimdKernels kAvx512Kernels;
}  // namespace detail

}  // namespace pte::fast
