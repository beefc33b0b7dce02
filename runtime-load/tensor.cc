#include "runtime-load/tensor.h"

#include "common/error.h"
#include "common/float16.h"

namespace pte::runtime {

int64_t checked_numel(std::span<const int64_t> shape, int64_t limit) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > limit / d) return -1;
    n *= d;
  }
  return n <= limit ? n : -1;
}

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  int64_t n = checked_numel(shape, kMaxTensorElements);
  if (n < 0)
    throw Error("tensor shape " + shape_string(shape) + " is negative or larger than " +
                std::to_string(kMaxTensorElements) + " elements");
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  if (is_float(dtype))
    t.floats.assign(static_cast<size_t>(n), 0.0f);
  else if (dtype == DType::I32 || dtype == DType::I64)
    t.ints.assign(static_cast<size_t>(n), 0);
  else
    throw Error(std::string("cannot hold an activation of dtype ") + dtype_name(dtype));
  return t;
}

Tensor Tensor::from_floats(DType dtype, Shape shape, std::vector<float> values) {
  if (!is_float(dtype) || checked_numel(shape, kMaxTensorElements) != static_cast<int64_t>(values.size()))
    throw Error("float tensor " + shape_string(shape) + " of " + dtype_name(dtype) + " given " +
                std::to_string(values.size()) + " values");
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.floats = std::move(values);
  round_in_place(dtype, t.floats);
  return t;
}

Tensor Tensor::from_ints(DType dtype, Shape shape, std::vector<int64_t> values) {
  if ((dtype != DType::I32 && dtype != DType::I64) ||
      checked_numel(shape, kMaxTensorElements) != static_cast<int64_t>(values.size()))
    throw Error("integer tensor " + shape_string(shape) + " of " + dtype_name(dtype) + " given " +
                std::to_string(values.size()) + " values");
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.ints = std::move(values);
  return t;
}

Tensor Tensor::constant(DType dtype, Shape shape, const uint8_t* bytes) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  static const uint8_t kEmpty = 0;
  t.bytes = bytes ? bytes : &kEmpty;  // an empty constant is still a constant
  return t;
}

Tensor Tensor::quantized(DType codes_dtype, Shape shape, const uint8_t* codes, const uint8_t* scales,
                         DType scales_dtype, int64_t group) {
  Tensor t = constant(codes_dtype, std::move(shape), codes);
  static const uint8_t kEmpty = 0;
  t.scales = scales ? scales : &kEmpty;
  t.scales_dtype = scales_dtype;
  t.group = group;
  return t;
}

float round_to_dtype(DType dtype, float value) {
  switch (dtype) {
    case DType::F16: return round_to_half(value);
    case DType::BF16: return bf16_to_float(float_to_bf16(value));
    default: return value;
  }
}

void round_in_place(DType dtype, std::span<float> values) {
  if (dtype == DType::F16) {
    for (float& v : values) v = round_to_half(v);
  } else if (dtype == DType::BF16) {
    for (float& v : values) v = bf16_to_float(float_to_bf16(v));
  }
}

}  // namespace pte::runtime
