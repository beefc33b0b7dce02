#include "exporter/checkpoint/pickle_value.h"

namespace pte {

namespace {

const TorchScalarType kScalarTypes[] = {
    {"float32", "FloatStorage", 4, DType::F32},
    {"float16", "HalfStorage", 2, DType::F16},
    {"bfloat16", "BFloat16Storage", 2, DType::BF16},
    {"float64", "DoubleStorage", 8, DType::Invalid},
    {"int64", "LongStorage", 8, DType::I64},
    {"int32", "IntStorage", 4, DType::I32},
    {"int16", "ShortStorage", 2, DType::Invalid},
    {"int8", "CharStorage", 1, DType::I8},
    {"uint8", "ByteStorage", 1, DType::U8},
    {"bool", "BoolStorage", 1, DType::Invalid},
};

}  // namespace

const TorchScalarType* scalar_type_by_storage_class(std::string_view name) {
  for (const TorchScalarType& t : kScalarTypes)
    if (name == t.storage_class) return &t;
  return nullptr;
}

const TorchScalarType* scalar_type_by_dtype_name(std::string_view name) {
  for (const TorchScalarType& t : kScalarTypes)
    if (name == t.dtype_name) return &t;
  return nullptr;
}

const PickleValue* PickleValue::get(std::string_view key) const {
  if (kind != Kind::Dict) return nullptr;
  for (size_t i = items.size(); i >= 2; i -= 2)
    if (items[i - 2]->is_string() && items[i - 2]->text == key) return items[i - 1];
  return nullptr;
}

const char* kind_name(PickleValue::Kind kind) {
  switch (kind) {
    case PickleValue::Kind::None:
      return "None";
    case PickleValue::Kind::Bool:
      return "bool";
    case PickleValue::Kind::Int:
    case PickleValue::Kind::BigInt:
      return "int";
    case PickleValue::Kind::Float:
      return "float";
    case PickleValue::Kind::String:
      return "str";
    case PickleValue::Kind::Bytes:
      return "bytes";
    case PickleValue::Kind::List:
      return "list";
    case PickleValue::Kind::Tuple:
      return "tuple";
    case PickleValue::Kind::Dict:
      return "dict";
    case PickleValue::Kind::Global:
      return "global";
    case PickleValue::Kind::Storage:
      return "storage";
    case PickleValue::Kind::Tensor:
      return "tensor";
  }
  return "value";
}

}  // namespace pte
