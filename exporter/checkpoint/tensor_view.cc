#include "exporter/checkpoint/tensor_view.h"

#include <cstring>

#include "common/error.h"
#include "common/float16.h"
#include "common/vector_clones.h"

namespace pte {

namespace {

float element_to_f32(DType dtype, const uint8_t* p) {
  switch (dtype) {
    case DType::F32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::F16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return half_to_float(h);
    }
    default: {  // BF16: read_f32 has checked the dtype
      uint16_t b;
      std::memcpy(&b, p, 2);
      return bf16_to_float(b);
    }
  }
}

// Calls row(first_element, count) for each innermost row of the logical tensor, in row-major
// order; the elements of a row are `strides.back()` apart. Returns without calling for numel 0.
template <typename RowFn>
void for_each_row(const TensorView& t, RowFn row) {
  if (t.numel() == 0) return;
  const size_t rank = t.shape.size();
  if (rank == 0) {
    row(t.offset, int64_t{1});
    return;
  }
  std::vector<int64_t> index(rank, 0);
  const int64_t row_length = t.shape[rank - 1];
  while (true) {
    int64_t first = t.offset;
    for (size_t d = 0; d + 1 < rank; ++d) first += index[d] * t.strides[d];
    row(first, row_length);
    // Advance the odometer over all dimensions but the last.
    size_t d = rank - 1;
    while (true) {
      if (d == 0) return;
      --d;
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

bool TensorView::is_contiguous() const {
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

namespace {

PTE_VECTOR_CLONES void bf16_row_to_f32(const uint8_t* p, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    uint16_t b;
    std::memcpy(&b, p + 2 * i, 2);
    out[i] = bf16_to_float(b);
  }
}

}  // namespace

void TensorView::read_f32(float* out) const {
  if (!is_float(dtype))
    throw Error("tensor '" + name + "': cannot read " + dtype_name(dtype) +
                " as float32 (only fp32, fp16 and bf16)");
  const size_t esize = element_size(dtype);
  const int64_t inner_stride = strides.empty() ? 1 : strides.back();
  for_each_row(*this, [&](int64_t first, int64_t count) {
    const uint8_t* p = storage + static_cast<size_t>(first) * esize;
    if (inner_stride == 1) {  // contiguous rows: plain loops the compiler vectorizes
      if (dtype == DType::F32) {
        std::memcpy(out, p, static_cast<size_t>(count) * 4);
      } else if (dtype == DType::BF16) {
        bf16_row_to_f32(p, count, out);
      } else {
        for (int64_t i = 0; i < count; ++i) {
          uint16_t h;
          std::memcpy(&h, p + 2 * i, 2);
          out[i] = half_to_float(h);
        }
      }
      out += count;
      return;
    }
    const size_t step = static_cast<size_t>(inner_stride) * esize;
    for (int64_t i = 0; i < count; ++i, p += step) *out++ = element_to_f32(dtype, p);
  });
}

void TensorView::read_raw(uint8_t* out) const {
  const size_t esize = element_size(dtype);
  if (esize == 0)
    throw Error("tensor '" + name + "': cannot read elements of dtype " + dtype_name(dtype));
  const int64_t inner_stride = strides.empty() ? 1 : strides.back();
  for_each_row(*this, [&](int64_t first, int64_t count) {
    const uint8_t* p = storage + static_cast<size_t>(first) * esize;
    if (inner_stride == 1) {
      std::memcpy(out, p, static_cast<size_t>(count) * esize);
      out += static_cast<size_t>(count) * esize;
      return;
    }
    const size_t step = static_cast<size_t>(inner_stride) * esize;
    for (int64_t i = 0; i < count; ++i, p += step, out += esize) std::memcpy(out, p, esize);
  });
}

std::string TensorView::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace pte
