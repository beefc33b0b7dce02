#pragma once
// The body of every quantize_source_rows variant, written once over a vector traits class V:
// V::kWidth lanes (0: scalar only), load<S>(p) of kWidth source elements as float, round_half,
// max_abs_bits, horizontal max, codes (round half to even and clamp) and the two code stores.
// Included only by the quantize_kernels_*.cc files, each compiled for its own instruction set;
// elements past the last full vector go through the scalar steps, which are the reference's.
#include <algorithm>
#include <cstring>

#include "common/float16.h"
#include "exporter/program/quantize_kernels.h"

namespace pte::detail {

template <DType S>
[[gnu::always_inline]] inline float load_scalar(const uint8_t* p, int64_t i) {
  if constexpr (S == DType::F32) {
    float v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  } else {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    if constexpr (S == DType::F16) return half_to_float(h);
    else return bf16_to_float(h);
  }
}

template <bool kHalf>
[[gnu::always_inline]] inline float model_scalar(float v) {
  if constexpr (kHalf) return round_to_half_fast(v);
  else return v;
}

template <class V, bool kHalf, DType S>
bool quantize_source_rows_body(const uint8_t* source, int64_t first_row, int64_t rows, int64_t cols,
                               const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  constexpr int64_t W = V::kWidth;
  constexpr size_t esize = S == DType::F32 ? 4 : 2;
  const int64_t group = layout.group ? layout.group : cols;
  const int64_t blocks_per_row = cols / group;
  const float div = layout.bits == 4 ? 7.5f : 127.5f;
  const int32_t qmin = layout.bits == 4 ? -8 : -128;
  const int32_t qmax = layout.bits == 4 ? 7 : 127;
  const float eps = kHalf ? 0x1p-14f : 0x1p-126f;
  // The cast to T of a source element (nothing to do from F16 to F16) and of a product.
  auto cast = [](typename V::F v) {
    if constexpr (kHalf && S != DType::F16) return V::round_half(v);
    else return v;
  };
  auto model = [](typename V::F v) {
    if constexpr (kHalf) return V::round_half(v);
    else return v;
  };
  auto code_scalar = [&](float x, float recip) {
    const float y = round_half_even_small(model_scalar<kHalf>(x * recip));
    return static_cast<int32_t>(std::min(std::max(y, static_cast<float>(qmin)), static_cast<float>(qmax)));
  };
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < blocks_per_row; ++b) {
      const uint8_t* x = source + static_cast<size_t>(r * cols + b * group) * esize;
      // Bits of non-negative floats order like the floats; inf and nan sort above all finite values.
      uint32_t largest = 0;
      int64_t i = 0;
      if constexpr (W > 0) {
        typename V::I acc = V::zero();
        for (; i + W <= group; i += W) acc = V::max_abs_bits(acc, cast(V::template load<S>(x + i * esize)));
        largest = V::hmax(acc);
      }
      for (; i < group; ++i)
        largest = std::max(largest, float_bits(model_scalar<kHalf>(load_scalar<S>(x, i))) & 0x7fffffffu);
      if (largest >= 0x7f800000u) return false;
      const float scale = std::max(model_scalar<kHalf>(bits_float(largest) / div), eps);
      const float recip = model_scalar<kHalf>(1.0f / scale);
      const int64_t scale_index = (first_row + r) * blocks_per_row + b;
      if constexpr (kHalf) {
        const uint16_t h = float_to_half(scale);
        std::memcpy(scales + 2 * scale_index, &h, 2);
      } else {
        std::memcpy(scales + 4 * scale_index, &scale, 4);
      }

      const int64_t base = (first_row + r) * cols + b * group;
      i = 0;
      if (layout.bits == 8) {
        int8_t* out = reinterpret_cast<int8_t*>(codes) + base;
        if constexpr (W > 0) {
          const typename V::F vrecip = V::set1(recip);
          for (; i + W <= group; i += W)
            V::store_i8(out + i, V::codes(model(V::mul(cast(V::template load<S>(x + i * esize)), vrecip)), qmin, qmax));
        }
        for (; i < group; ++i) out[i] = static_cast<int8_t>(code_scalar(model_scalar<kHalf>(load_scalar<S>(x, i)), recip));
        continue;
      }
      // int4: element e in byte e/2, low nibble when e is even; whole bytes from the first even element.
      auto put_nibble = [&](int64_t k) {
        const int64_t e = base + k;
        const int32_t q = code_scalar(model_scalar<kHalf>(load_scalar<S>(x, k)), recip);
        codes[e / 2] |= static_cast<uint8_t>((q & 0xf) << ((e & 1) ? 4 : 0));
      };
      if (base & 1) put_nibble(i++);
      if constexpr (W > 0) {
        const typename V::F vrecip = V::set1(recip);
        for (; i + W <= group; i += W)
          V::store_i4_pairs(codes + (base + i) / 2,
                            V::codes(model(V::mul(cast(V::template load<S>(x + i * esize)), vrecip)), qmin, qmax));
      }
      for (; i < group; ++i) put_nibble(i);
    }
  }
  return true;
}

// The entry point of one variant: picks the instantiation for the model and source dtypes.
template <class V>
bool quantize_source_rows_with(const uint8_t* source, DType source_dtype, int64_t first_row, int64_t rows,
                               int64_t cols, const QuantizedLayout& layout, uint8_t* codes, uint8_t* scales) {
  const bool half = layout.dtype == DType::F16;
  switch (source_dtype) {
    case DType::F32:
      return half ? quantize_source_rows_body<V, true, DType::F32>(source, first_row, rows, cols, layout, codes, scales)
                  : quantize_source_rows_body<V, false, DType::F32>(source, first_row, rows, cols, layout, codes, scales);
    case DType::F16:
      return half ? quantize_source_rows_body<V, true, DType::F16>(source, first_row, rows, cols, layout, codes, scales)
                  : quantize_source_rows_body<V, false, DType::F16>(source, first_row, rows, cols, layout, codes, scales);
    default:  // BF16
      return half ? quantize_source_rows_body<V, true, DType::BF16>(source, first_row, rows, cols, layout, codes, scales)
                  : quantize_source_rows_body<V, false, DType::BF16>(source, first_row, rows, cols, layout, codes, scales);
  }
}

}  // namespace pte::detail
