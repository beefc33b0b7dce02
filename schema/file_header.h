#pragma once
// The fixed 96-byte header at offset 0 of every .pte file (little-endian). See FORMAT.md §1.
#include <cstdint>
#include <cstring>
#include <string>

#include "common/sha256.h"

namespace pte {

constexpr char kFileMagic[8] = {'P', 'T', 'E', 'P', 'A', 'C', 'K', '\0'};
constexpr uint32_t kFormatVersion = 2;  // 2: the header carries a digest of the container
constexpr uint32_t kHeaderSize = 96;
constexpr uint32_t kDigestedHeaderBytes = 64;  // the fields before container_sha256
constexpr uint64_t kSegmentAlignment = 4096;  // data segment starts on a page boundary
constexpr uint32_t kBlobAlignment = 128;      // every blob starts at a multiple of this
constexpr const char* kGraphBackend = "pte.graph.v1";

struct FileHeader {
  char magic[8];
  uint32_t header_size;
  uint32_t format_version;
  uint64_t flatbuffer_offset;
  uint64_t flatbuffer_size;
  uint64_t segment_offset;
  uint64_t segment_size;
  uint64_t file_size;
  uint64_t reserved;
  // SHA-256 of header bytes [0, 64) followed by bytes [96, segment_offset): every byte of the
  // file outside the data segment, whose blobs carry SHA-256s of their own.
  uint8_t container_sha256[32];
};
static_assert(sizeof(FileHeader) == kHeaderSize, "header layout");

inline uint64_t segment_offset_after(uint64_t flatbuffer_end) {
  return (flatbuffer_end + kSegmentAlignment - 1) / kSegmentAlignment * kSegmentAlignment;
}

// The digest container_sha256 must hold; `after_header` is bytes [96, segment_offset).
inline Sha256Digest container_digest(const FileHeader& h, const uint8_t* after_header, uint64_t size) {
  Sha256 s;
  s.update(&h, kDigestedHeaderBytes);
  s.update(after_header, static_cast<size_t>(size));
  return s.finish();
}

// Checks the header of a file of `file_size` bytes: magic, version, and that the regions tile
// the file exactly (header, flatbuffer, zero or more padding bytes up to the next page, segment
// to the end). Returns an empty string when valid, else what is wrong. The digest is checked by
// the loader, which has the bytes.
inline std::string check_header(const FileHeader& h, uint64_t file_size) {
  if (std::memcmp(h.magic, kFileMagic, 8) != 0) return "magic is not PTEPACK (not a .pte file)";
  if (h.format_version == 1)
    return "format_version is 1, written by pte 0.1 without a container digest; this reader needs "
           "version 2: export the file again with this pte";
  if (h.format_version != kFormatVersion)
    return "format_version is " + std::to_string(h.format_version) + ", this reader supports 2";
  if (h.header_size != kHeaderSize)
    return "header_size is " + std::to_string(h.header_size) + ", expected 96";
  if (file_size < kHeaderSize)
    return "file is " + std::to_string(file_size) + " bytes, smaller than the 96-byte header";
  if (h.file_size != file_size)
    return "header says file_size " + std::to_string(h.file_size) + " but the file has " +
           std::to_string(file_size) + " bytes (truncated or appended to?)";
  if (h.reserved != 0) return "reserved header field is " + std::to_string(h.reserved) + ", expected 0";
  if (h.flatbuffer_offset != kHeaderSize || h.flatbuffer_size > file_size - kHeaderSize)
    return "flatbuffer region [" + std::to_string(h.flatbuffer_offset) + ", +" +
           std::to_string(h.flatbuffer_size) + ") does not start at 96 or is outside the file";
  if (h.segment_offset != segment_offset_after(kHeaderSize + h.flatbuffer_size) ||
      h.segment_offset > file_size || h.segment_size != file_size - h.segment_offset)
    return "data segment [" + std::to_string(h.segment_offset) + ", +" + std::to_string(h.segment_size) +
           ") does not start at the first page after the flatbuffer or does not end the file";
  return "";
}

}  // namespace pte
