// Programs assembled in memory (pte verify's reference): blobs past the image are external
// bytes, checked on load; row-ordered constants are read row by row from where they are stored.
#include <gtest/gtest.h>

#include <cstring>

#include "common/error.h"
#include "runtime-load/float_rows.h"
#include "runtime-load/loaded_program.h"
#include "schema/file_header.h"
#include "tests/unit/runtime/tiny_programs.h"

namespace pte::runtime {
namespace {

FileHeader header_of(const std::vector<uint8_t>& bytes) {
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

TEST(InMemoryProgram, LoadsFromTheWholeImage) {
  InMemoryProgram p;
  p.name = "in memory";
  p.image = testing::tiny_lm().build();
  p.file_size = p.image.size();
  LoadedProgram program(std::move(p));
  EXPECT_EQ(program.path(), "in memory");
  EXPECT_NO_THROW(program.method("forward"));
}

TEST(InMemoryProgram, BlobsPastTheImageNeedExternalBytesOfTheirSize) {
  const std::vector<uint8_t> file = testing::tiny_lm().build();
  const FileHeader h = header_of(file);
  InMemoryProgram p;
  p.name = "cut";
  p.image.assign(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(h.segment_offset));
  p.file_size = file.size();
  try {
    LoadedProgram program(p);
    FAIL() << "loaded without the blobs' bytes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("past the end of the in-memory image and has no external bytes"), std::string::npos)
        << e.what();
  }
  // Every blob given as external bytes: the original segment, blob by blob.
  LoadedProgram whole(InMemoryProgram{"whole", file, file.size(), {}});
  for (const fb::Blob* b : *whole.program().blobs()) {
    const std::span<const uint8_t> bytes = whole.blob_bytes(*b);
    p.external[std::string(view(b->key()))] = ExternalBlob{bytes.data(), bytes.size(), nullptr};
  }
  LoadedProgram external(p);
  for (const fb::Blob* b : *external.program().blobs())
    EXPECT_EQ(external.blob_bytes(*b).data(), whole.blob_bytes(*b).data());

  const std::string first(view(whole.program().blobs()->Get(0)->key()));
  p.external[first].size += 1;
  EXPECT_THROW(LoadedProgram{p}, Error);
}

TEST(RowOrder, RowsAreReadFromWhereTheyAreStored) {
  // bf16 [3, 2]: stored rows (1, 2), (3, 4), (5, 6); logical row r is stored row order[r].
  const uint16_t stored[6] = {0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0};
  const uint32_t order[3] = {2, 0, 1};
  Tensor t = Tensor::constant(DType::BF16, {3, 2}, reinterpret_cast<const uint8_t*>(stored));
  t.row_order = order;
  std::vector<float> scratch;
  const float* all = read_floats(t, 0, 6, scratch);
  EXPECT_EQ(std::vector<float>(all, all + 6), (std::vector<float>{5, 6, 1, 2, 3, 4}));
  const float* middle = read_floats(t, 1, 3, scratch);  // across rows
  EXPECT_EQ(std::vector<float>(middle, middle + 3), (std::vector<float>{6, 1, 2}));

  const float values[3] = {10, 20, 30};  // 1-D: each element is a row
  Tensor v = Tensor::constant(DType::F32, {3}, reinterpret_cast<const uint8_t*>(values));
  v.row_order = order;
  const float* r = read_floats(v, 0, 3, scratch);
  EXPECT_EQ(std::vector<float>(r, r + 3), (std::vector<float>{30, 10, 20}));
}

}  // namespace
}  // namespace pte::runtime
