#include "runtime-check/float_rows.h"

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

}  // namespace

void decode_half(const uint8_t* bytes, size_t count, float* out) {
  const float* table = half_table();
  for (size_t i = 0; i < count; ++i) out[i] = table[load_u16(bytes + 2 * i)];
}

const float* read_floats(const Tensor& t, size_t offset, size_t count, std::vector<float>& scratch) {
  if (!t.is_constant()) {
    if (t.floats.empty() && count == 0) return nullptr;
    return t.floats.data() + offset;
  }
  if (scratch.size() < count) scratch.resize(count);
  switch (t.dtype) {
    case DType::F32: {
      const uint8_t* p = t.bytes + offset * 4;
      if (reinterpret_cast<uintptr_t>(p) % alignof(float) == 0)
        return reinterpret_cast<const float*>(p);
      std::memcpy(scratch.data(), p, count * 4);
      return scratch.data();
    }
    case DType::F16:
      decode_half(t.bytes + offset * 2, count, scratch.data());
      return scratch.data();
    case DType::BF16:
      for (size_t i = 0; i < count; ++i)
        scratch[i] = bf16_to_float(load_u16(t.bytes + 2 * (offset + i)));
      return scratch.data();
    default:
      throw Error(std::string("a constant of dtype ") + dtype_name(t.dtype) +
                  " cannot be read as float (quantized constants are not part of format version 1)");
  }
}

}  // namespace pte::runtime
