#pragma once
// A tensor inside a memory-mapped checkpoint: dtype, shape, strides and a pointer into the map.
// Readers validate every view against its storage when the checkpoint is opened, so a view
// that exists is always in bounds. Nothing here owns or copies tensor data.
#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"

namespace pte {

struct TensorView {
  std::string name;
  DType dtype = DType::Invalid;  // F32, F16 or BF16 for weights; readers may list others
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;    // in elements, one per dimension
  const uint8_t* storage = nullptr;  // first byte of the storage this view indexes
  uint64_t storage_bytes = 0;        // bytes available from `storage`
  int64_t offset = 0;                // storage offset of element [0, 0, ...], in elements

  int64_t numel() const;
  bool is_contiguous() const;
  // Row-major elements converted exactly to float32 (F32, F16, BF16 only). `out` holds numel().
  void read_f32(float* out) const;
  // Row-major elements with their original bytes (any dtype). `out` holds numel()*element_size.
  void read_raw(uint8_t* out) const;
  std::string shape_string() const;  // "[64, 512]"
};

}  // namespace pte
