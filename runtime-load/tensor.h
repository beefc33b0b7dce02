#pragma once
// The values a method computes with. Float activations are held as float32 numbers that are
// already rounded to their dtype (fp16/bf16 emulation); integer inputs as int64; constants are
// views of bytes in the mapped file, used in place.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "schema/limits.h"

namespace pte::runtime {

using Shape = std::vector<int64_t>;

// Upper bound on the elements of any tensor the runtime allocates, so that a corrupt shape
// cannot request an unbounded amount of memory (the format's bound, schema/limits.h).
constexpr int64_t kMaxTensorElements = kMaxActivationElements;

// Element count, or -1 when a dimension is negative or the product overflows `limit`.
int64_t checked_numel(std::span<const int64_t> shape, int64_t limit);
int64_t numel(const Shape& shape);  // for shapes already validated
std::string shape_string(std::span<const int64_t> shape);

struct Tensor {
  DType dtype = DType::Invalid;
  Shape shape;
  std::vector<float> floats;        // F32/F16/BF16 activations
  std::vector<int64_t> ints;        // I32/I64 activations
  const uint8_t* bytes = nullptr;   // constant data in the mapped file (row-major, `dtype`)
  // Quantized constants (int8/int4 codes in `bytes`): element e of row r is
  // round_to_dtype(scales_dtype, code * scale[r * (K / group) + e % K / group]), K the last dim.
  const uint8_t* scales = nullptr;
  DType scales_dtype = DType::Invalid;
  int64_t group = 0;  // elements per scale along a row (K when there is one scale per row)
  // Unquantized constants only: row r along dimension 0 is stored row row_order[r] (a view of
  // a checkpoint tensor in another row order, see LoadedProgram's ExternalBlob); nullptr: in order.
  const uint32_t* row_order = nullptr;

  bool is_constant() const { return bytes != nullptr; }
  bool is_quantized() const { return scales != nullptr; }
  int64_t numel() const { return runtime::numel(shape); }

  // A zero-filled activation of `dtype` (float or integer storage as the dtype requires).
  static Tensor zeros(DType dtype, Shape shape);
  static Tensor from_floats(DType dtype, Shape shape, std::vector<float> values);  // rounds
  static Tensor from_ints(DType dtype, Shape shape, std::vector<int64_t> values);
  static Tensor constant(DType dtype, Shape shape, const uint8_t* bytes);
  static Tensor quantized(DType codes_dtype, Shape shape, const uint8_t* codes, const uint8_t* scales,
                          DType scales_dtype, int64_t group);
};

// Rounds a float32 value to the nearest value of `dtype` (identity for fp32).
float round_to_dtype(DType dtype, float value);
void round_in_place(DType dtype, std::span<float> values);

}  // namespace pte::runtime
