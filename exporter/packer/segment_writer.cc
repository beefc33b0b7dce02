#include "exporter/packer/segment_writer.h"

#include <algorithm>
#include <cstring>

#include "schema/file_header.h"

namespace pte {

bool SegmentWriter::stored_bytes_equal(uint64_t offset, const Bytes& bytes) const {
  std::vector<uint8_t> chunk(std::min<size_t>(bytes.size(), 1 << 20));
  for (size_t done = 0; done < bytes.size(); done += chunk.size()) {
    size_t n = std::min(chunk.size(), bytes.size() - done);
    file_.read_at(segment_offset_ + offset + done, chunk.data(), n);
    if (std::memcmp(chunk.data(), bytes.data() + done, n) != 0) return false;
  }
  return true;
}

bool SegmentWriter::add(const std::string& key, const Bytes& bytes, const Sha256Digest& digest) {
  BlobRecord record{key, 0, bytes.size(), kBlobAlignment, digest};
  auto [first, last] = by_hash_.equal_range(record.sha256);
  for (auto it = first; it != last; ++it) {
    const BlobRecord& stored = blobs_[it->second];
    if (stored.size == record.size && stored_bytes_equal(stored.offset, bytes)) {
      record.offset = stored.offset;
      deduplicated_bytes_ += bytes.size();
      blobs_.push_back(std::move(record));
      return true;
    }
  }
  record.offset = (end_ + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment;
  if (record.offset > end_) {
    std::vector<uint8_t> zeros(record.offset - end_, 0);
    file_.write_at(segment_offset_ + end_, zeros.data(), zeros.size());
  }
  file_.write_at(segment_offset_ + record.offset, bytes.data(), bytes.size());
  end_ = record.offset + bytes.size();
  by_hash_.emplace(record.sha256, blobs_.size());
  blobs_.push_back(std::move(record));
  return false;
}

}  // namespace pte
