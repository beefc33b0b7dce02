#pragma once
// Appends blobs to the data segment at aligned offsets. A blob whose bytes are already stored
// (same SHA-256, confirmed by comparing the bytes) is not written again: its key points at the
// existing copy.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "exporter/packer/output_file.h"

namespace pte {

using Bytes = std::vector<uint8_t>;

struct BlobRecord {
  std::string key;
  uint64_t offset = 0;  // from the start of the segment
  uint64_t size = 0;
  uint32_t alignment = 0;
  Sha256Digest sha256{};
};

class SegmentWriter {
 public:
  SegmentWriter(OutputFile& file, uint64_t segment_offset) : file_(file), segment_offset_(segment_offset) {}

  // Returns true when the bytes were already stored under another key. `digest` is their
  // SHA-256 (workers compute it in parallel); the overload computes it here.
  bool add(const std::string& key, const Bytes& bytes, const Sha256Digest& digest);
  bool add(const std::string& key, const Bytes& bytes) { return add(key, bytes, sha256(bytes.data(), bytes.size())); }

  const std::vector<BlobRecord>& blobs() const { return blobs_; }
  uint64_t size() const { return end_; }
  uint64_t deduplicated_bytes() const { return deduplicated_bytes_; }

 private:
  bool stored_bytes_equal(uint64_t offset, const Bytes& bytes) const;

  OutputFile& file_;
  uint64_t segment_offset_;
  uint64_t end_ = 0;
  uint64_t deduplicated_bytes_ = 0;
  std::vector<BlobRecord> blobs_;
  std::multimap<Sha256Digest, size_t> by_hash_;  // digest -> index in blobs_
};

}  // namespace pte
