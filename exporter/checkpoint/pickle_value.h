#pragma once
// The value tree the allowlist unpickler builds: plain Python data plus the few torch objects a
// state dict is made of (storages and tensors). Values live in an arena owned by a
// PickleDocument and refer to each other with plain pointers, so memoized (shared) and even
// cyclic structures are freed without recursion.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"

namespace pte {

// A torch element type, as named by a storage class (torch.FloatStorage) or a dtype object
// (torch.float32).
struct TorchScalarType {
  const char* dtype_name;     // "float32"
  const char* storage_class;  // "FloatStorage"
  size_t element_size;
  DType dtype;  // Invalid when pte has no such type (float64, int16, bool)
};

const TorchScalarType* scalar_type_by_storage_class(std::string_view name);
const TorchScalarType* scalar_type_by_dtype_name(std::string_view name);

struct PickleValue;

// A persistent id ('storage', storage_type, key, location, numel[, view_metadata]).
struct StorageRef {
  const TorchScalarType* type = nullptr;
  std::string key;
  std::string location;
  int64_t numel = 0;  // in elements of `type`
  // Legacy format only: this storage is elements [view_offset, view_offset + view_numel) of
  // the storage `key`.
  bool is_view = false;
  int64_t view_offset = 0;
  int64_t view_numel = 0;
};

// What torch._utils._rebuild_tensor_v2 was called with; the element type is the storage's.
struct TensorRecord {
  const PickleValue* storage = nullptr;  // Kind::Storage
  int64_t storage_offset = 0;
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
};

struct PickleValue {
  enum class Kind : uint8_t {
    None,
    Bool,
    Int,
    BigInt,
    Float,
    String,
    Bytes,
    List,
    Tuple,
    Dict,
    Global,
    Storage,
    Tensor
  };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  // String and Bytes: the bytes; Global: "module.name"; BigInt: little-endian two's complement.
  std::string text;
  // List and Tuple: the elements. Dict: key, value, key, value... in insertion order; a key
  // set twice appears twice (the later value wins, as in Python).
  std::vector<PickleValue*> items;
  std::unique_ptr<StorageRef> storage;
  std::unique_ptr<TensorRecord> tensor;

  bool is_string() const { return kind == Kind::String; }
  bool is_dict() const { return kind == Kind::Dict; }
  // The value stored under string `key` of a dict (the last one set), or nullptr.
  const PickleValue* get(std::string_view key) const;
};

// "dict", "int", ... for messages.
const char* kind_name(PickleValue::Kind kind);

}  // namespace pte
