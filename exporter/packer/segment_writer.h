#pragma once
// Appends blobs to the data segment at aligned offsets. A blob whose bytes are already stored
// (same SHA-256, confirmed by comparing the bytes) is not written again: its key points at the
// existing copy. The segment is written in order through a staging buffer, in aligned chunks
// of kStageBytes with direct I/O where the file system allows it (OutputFile::write_direct_at),
// else with plain writes; finish() writes the last chunk, padded with zeros for direct I/O
// (the caller truncates the file to its size).
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
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
  // `segment_offset` is a multiple of OutputFile::kDirectAlignment (else plain writes only).
  SegmentWriter(OutputFile& file, uint64_t segment_offset);

  // Returns true when the bytes were already stored under another key. `digest` is their
  // SHA-256 (workers compute it in parallel); the overload computes it here.
  bool add(const std::string& key, const Bytes& bytes, const Sha256Digest& digest);
  bool add(const std::string& key, const Bytes& bytes) { return add(key, bytes, sha256(bytes.data(), bytes.size())); }

  const std::vector<BlobRecord>& blobs() const { return blobs_; }
  uint64_t size() const { return end_; }
  uint64_t deduplicated_bytes() const { return deduplicated_bytes_; }
  void finish();  // writes what is staged; call once, after the last add

  static constexpr size_t kStageBytes = size_t{8} << 20;

 private:
  bool stored_bytes_equal(uint64_t offset, const Bytes& bytes) const;
  void append(const uint8_t* data, size_t size);  // at end_
  void flush(size_t bytes);                       // stage_[0, bytes) to the file at staged_from_
  void read(uint64_t offset, uint8_t* out, size_t size) const;

  struct FreeDeleter {
    void operator()(uint8_t* p) const { std::free(p); }
  };

  OutputFile& file_;
  uint64_t segment_offset_;
  uint64_t end_ = 0;
  std::unique_ptr<uint8_t, FreeDeleter> stage_;  // kDirectAlignment-aligned, kStageBytes
  uint64_t staged_from_ = 0;  // segment offset of stage_[0]; bytes before it are in the file
  bool direct_ = true;
  uint64_t deduplicated_bytes_ = 0;
  std::vector<BlobRecord> blobs_;
  std::multimap<Sha256Digest, size_t> by_hash_;  // digest -> index in blobs_
};

}  // namespace pte
