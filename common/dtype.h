#pragma once
// Element types. The numbering is part of the file format: it is the same in schema/pte.fbs
// (enum DType) and schema/piece_graph.proto (enum DType).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pte {

enum class DType : uint8_t {
  Invalid = 0,
  F32 = 1,
  F16 = 2,
  BF16 = 3,
  I32 = 4,
  I64 = 5,
  I8 = 6,
  U8 = 7,
  I4 = 8,  // signed 4-bit, two per byte (see schema/FORMAT.md for the nibble order)
};

// Bytes per element; 0 for I4 (use storage_bytes) and Invalid.
inline size_t element_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: return 2;
    case DType::I64: return 8;
    case DType::I8: case DType::U8: return 1;
    default: return 0;
  }
}

inline size_t storage_bytes(DType t, uint64_t numel) {
  if (t == DType::I4) return static_cast<size_t>((numel + 1) / 2);
  return static_cast<size_t>(numel) * element_size(t);
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "fp32";
    case DType::F16: return "fp16";
    case DType::BF16: return "bf16";
    case DType::I32: return "int32";
    case DType::I64: return "int64";
    case DType::I8: return "int8";
    case DType::U8: return "uint8";
    case DType::I4: return "int4";
    default: return "invalid";
  }
}

inline std::optional<DType> dtype_from_name(std::string_view s) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::I8,
                  DType::U8, DType::I4})
    if (s == dtype_name(t)) return t;
  return std::nullopt;
}

inline bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

}  // namespace pte
