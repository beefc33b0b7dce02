#include "runtime-check/npy_writer.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

#include "common/error.h"

namespace pte::runtime {

void write_npy_f32(const std::string& path, std::span<const float> values, size_t rows, size_t cols) {
  if (values.size() != rows * cols)
    throw Error(path + ": " + std::to_string(values.size()) + " values do not form a " + std::to_string(rows) +
                " x " + std::to_string(cols) + " matrix");
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "), }";
  // magic (6) + version (2) + header length (2) + dict, padded with spaces and a newline to 64.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  const uint16_t header_len = static_cast<uint16_t>(dict.size());

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot open for writing: " + std::strerror(errno));
  out.write("\x93NUMPY\x01\x00", 8);
  const char len_bytes[2] = {static_cast<char>(header_len & 0xff), static_cast<char>(header_len >> 8)};
  out.write(len_bytes, 2);
  out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  out.close();
  if (!out) throw Error(path + ": write failed");
}

}  // namespace pte::runtime
