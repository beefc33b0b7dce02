#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "runtime-check/npy_writer.h"
#include "tests/unit/runtime/tiny_programs.h"

namespace pte::runtime {
namespace {

TEST(RuntimeNpy, WritesVersion1LittleEndianFloat32Matrix) {
  std::string path = testing::temp_file("logits.npy");
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  write_npy_f32(path, values, 2, 3);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  std::string header = bytes.substr(10, header_len);
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos);
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos);
  EXPECT_NE(header.find("'shape': (2, 3)"), std::string::npos);
  EXPECT_EQ(header.back(), '\n');
  ASSERT_EQ(bytes.size(), 10 + header_len + 24);
  float back[6];
  std::memcpy(back, bytes.data() + 10 + header_len, 24);
  EXPECT_EQ(std::vector<float>(back, back + 6), values);
}

}  // namespace
}  // namespace pte::runtime
