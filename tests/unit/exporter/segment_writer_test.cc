// SegmentWriter: offsets, alignment padding and deduplication when the first copy is already in
// the file and when it is still staged, and the bytes read back from the finished file.
#include "exporter/packer/segment_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "schema/file_header.h"

namespace pte {
namespace {

Bytes pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    b[i] = static_cast<uint8_t>(seed >> 24);
  }
  return b;
}

TEST(SegmentWriter, DeduplicatesFromTheFileAndFromTheStageAndWritesEveryByte) {
  OutputFile file(::testing::TempDir() + "/segment_writer_test.pte");  // never committed: removed at the end
  const uint64_t start = 8192;
  SegmentWriter w(file, start);
  const Bytes big = pattern(SegmentWriter::kStageBytes + 12345, 1);  // flushed once the next blob comes
  const Bytes small = pattern(1000, 2);
  Bytes near = small;
  near.back() ^= 1;
  EXPECT_FALSE(w.add("big", big));
  EXPECT_FALSE(w.add("small", small));
  EXPECT_TRUE(w.add("big again", big));      // first copy partly in the file, partly staged
  EXPECT_TRUE(w.add("small again", small));  // first copy staged
  EXPECT_FALSE(w.add("near", near));         // same size, one byte differs
  w.finish();
  const std::vector<BlobRecord>& b = w.blobs();
  ASSERT_EQ(b.size(), 5u);
  const uint64_t small_at = (big.size() + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment;
  EXPECT_EQ(b[0].offset, 0u);
  EXPECT_EQ(b[1].offset, small_at);
  EXPECT_EQ(b[2].offset, 0u);
  EXPECT_EQ(b[3].offset, small_at);
  EXPECT_EQ(b[4].offset, (small_at + small.size() + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment);
  EXPECT_EQ(w.size(), b[4].offset + near.size());
  EXPECT_EQ(w.deduplicated_bytes(), big.size() + small.size());

  file.truncate(start + w.size());
  Bytes expect(w.size(), 0);
  std::copy(big.begin(), big.end(), expect.begin());
  std::copy(small.begin(), small.end(), expect.begin() + static_cast<ptrdiff_t>(small_at));
  std::copy(near.begin(), near.end(), expect.begin() + static_cast<ptrdiff_t>(b[4].offset));
  Bytes got(w.size());
  file.read_at(start, got.data(), got.size());
  EXPECT_TRUE(got == expect);
}

}  // namespace
}  // namespace pte
