#pragma once
// Reading any float tensor (activation or fp32/fp16/bf16 constant in the mapped file) as
// float32, one contiguous range at a time, without copying whole weights.
#include <cstddef>
#include <vector>

#include "runtime-load/tensor.h"

namespace pte::runtime {

// Returns `count` float32 values starting at element `offset` of `t`. Points into `t` when it
// already holds float32 (activations, aligned fp32 constants); otherwise decodes into `scratch`.
const float* read_floats(const Tensor& t, size_t offset, size_t count, std::vector<float>& scratch);

// Decodes `count` fp16 values (IEEE binary16 bits) to float32 through a lookup table.
void decode_half(const uint8_t* bytes, size_t count, float* out);

}  // namespace pte::runtime
