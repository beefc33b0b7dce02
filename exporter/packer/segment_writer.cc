#include "exporter/packer/segment_writer.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "schema/file_header.h"

namespace pte {

SegmentWriter::SegmentWriter(OutputFile& file, uint64_t segment_offset)
    : file_(file), segment_offset_(segment_offset), direct_(segment_offset % OutputFile::kDirectAlignment == 0) {
  void* p = nullptr;
  if (::posix_memalign(&p, OutputFile::kDirectAlignment, kStageBytes) != 0) throw std::bad_alloc();
  stage_.reset(static_cast<uint8_t*>(p));
}

void SegmentWriter::flush(size_t bytes) {
  const uint64_t at = segment_offset_ + staged_from_;
  const size_t aligned = (bytes + OutputFile::kDirectAlignment - 1) / OutputFile::kDirectAlignment *
                         OutputFile::kDirectAlignment;
  if (direct_) {
    std::memset(stage_.get() + bytes, 0, aligned - bytes);
    direct_ = file_.write_direct_at(at, stage_.get(), aligned);
  }
  if (!direct_) file_.write_at(at, stage_.get(), bytes);
}

void SegmentWriter::append(const uint8_t* data, size_t size) {
  while (size > 0) {
    const size_t used = static_cast<size_t>(end_ - staged_from_);
    const size_t n = std::min(size, kStageBytes - used);
    if (data) std::memcpy(stage_.get() + used, data, n);
    else std::memset(stage_.get() + used, 0, n);
    end_ += n;
    size -= n;
    if (data) data += n;
    if (end_ - staged_from_ == kStageBytes) {
      flush(kStageBytes);
      staged_from_ = end_;
    }
  }
}

void SegmentWriter::finish() {
  if (end_ > staged_from_) flush(static_cast<size_t>(end_ - staged_from_));
  staged_from_ = end_;
}

void SegmentWriter::read(uint64_t offset, uint8_t* out, size_t size) const {
  if (offset < staged_from_) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size, staged_from_ - offset));
    file_.read_at(segment_offset_ + offset, out, n);
    offset += n;
    out += n;
    size -= n;
  }
  if (size > 0) std::memcpy(out, stage_.get() + (offset - staged_from_), size);
}

bool SegmentWriter::stored_bytes_equal(uint64_t offset, const Bytes& bytes) const {
  std::vector<uint8_t> chunk(std::min<size_t>(bytes.size(), 1 << 20));
  for (size_t done = 0; done < bytes.size(); done += chunk.size()) {
    size_t n = std::min(chunk.size(), bytes.size() - done);
    read(offset + done, chunk.data(), n);
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
  append(nullptr, record.offset - end_);  // zeros up to the alignment
  append(bytes.data(), bytes.size());
  by_hash_.emplace(record.sha256, blobs_.size());
  blobs_.push_back(std::move(record));
  return false;
}

}  // namespace pte
