#include "runtime-load/float_rows.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <memory>

#include "common/error.h"
#include "common/float16.h"

static_assert(std::endian::native == std::endian::little, "the file format is little-endian");

namespace pte::runtime {
namespace {

const float* half_table() {
  static const std::unique_ptr<float[]> table = [] {
    auto t = std::make_unique<float[]>(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = half_to_float(static_cast<uint16_t>(h));
    return t;
  }();
  return table.get();
}

uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

float load_float(const uint8_t* p, DType dtype) {
  if (dtype == DType::F16) return half_to_float(load_u16(p));
  float f;
  std::memcpy(&f, p, 4);
  return f;
}

// Signed code of element e: int8, or int4 with element 2k in the low nibble of byte k.
int code_at(const Tensor& t, size_t e) {
  if (t.dtype == DType::I8) return static_cast<int8_t>(t.bytes[e]);
  int nibble = (e & 1) ? t.bytes[e / 2] >> 4 : t.bytes[e / 2] & 0xf;
  return nibble >= 8 ? nibble - 16 : nibble;
}

void decode_quantized(const Tensor& t, size_t offset, size_t count, float* out) {
  const size_t row_length = static_cast<size_t>(t.shape.back());
  const size_t group = static_cast<size_t>(t.group), groups_per_row = row_length / group;
  const size_t scale_bytes = t.scales_dtype == DType::F16 ? 2 : 4;
  size_t row = offset / row_length, column = offset % row_length;
  for (size_t i = 0; i < count; ++i) {
    float scale = load_float(t.scales + (row * groups_per_row + column / group) * scale_bytes, t.scales_dtype);
    out[i] = round_to_dtype(t.scales_dtype, static_cast<float>(code_at(t, offset + i)) * scale);
    if (++column == row_length) {
      column = 0;
      ++row;
    }
  }
}

}  // namespace

void decode_half(const uint8_t* bytes, size_t count, float* out) {
  const float* table = half_table();
  for (size_t i = 0; i < count; ++i) out[i] = table[load_u16(bytes + 2 * i)];
}

namespace {

// Elements [offset, offset + count) of an unquantized float constant, in stored order.
void decode_stored(const Tensor& t, size_t offset, size_t count, float* out) {
  switch (t.dtype) {
    case DType::F32: std::memcpy(out, t.bytes + offset * 4, count * 4); return;
    case DType::F16: decode_half(t.bytes + offset * 2, count, out); return;
    case DType::BF16:
      for (size_t i = 0; i < count; ++i) out[i] = bf16_to_float(load_u16(t.bytes + 2 * (offset + i)));
      return;
    default:
      throw Error(std::string("a constant of dtype ") + dtype_name(t.dtype) +
                  " cannot be read as float (integer constants need scales)");
  }
}

}  // namespace

const float* read_floats(const Tensor& t, size_t offset, size_t count, std::vector<float>& scratch) {
  if (!t.is_constant()) return t.floats.data() + offset;
  if (scratch.size() < count) scratch.resize(count);
  if (t.is_quantized()) {
    decode_quantized(t, offset, count, scratch.data());
    return scratch.data();
  }
  if (t.row_order) {  // row by row, each from where it is stored
    const size_t row_length = static_cast<size_t>(t.numel() / t.shape.at(0));
    for (size_t done = 0; done < count;) {
      const size_t e = offset + done, row = e / row_length, column = e % row_length;
      const size_t n = std::min(count - done, row_length - column);
      decode_stored(t, static_cast<size_t>(t.row_order[row]) * row_length + column, n, scratch.data() + done);
      done += n;
    }
    return scratch.data();
  }
  if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.bytes + offset * 4) % alignof(float) == 0)
    return reinterpret_cast<const float*>(t.bytes + offset * 4);
  decode_stored(t, offset, count, scratch.data());
  return scratch.data();
}

}  // namespace pte::runtime
