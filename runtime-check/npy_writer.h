#pragma once
// Writing a float32 matrix as a NumPy .npy file (format version 1.0, '<f4', C order).
#include <cstddef>
#include <span>
#include <string>

namespace pte::runtime {

// Writes `values` (rows * cols floats, row-major) to `path`. Throws pte::Error naming the path.
void write_npy_f32(const std::string& path, std::span<const float> values, size_t rows, size_t cols);

}  // namespace pte::runtime
