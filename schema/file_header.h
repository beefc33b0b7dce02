#pragma once
// The fixed 64-byte header at offset 0 of every .pte file (little-endian). See FORMAT.md.
#include <cstdint>
#include <cstring>
#include <string>

namespace pte {

constexpr char kFileMagic[8] = {'P', 'T', 'E', 'P', 'A', 'C', 'K', '\0'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kHeaderSize = 64;
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
};
static_assert(sizeof(FileHeader) == kHeaderSize, "header layout");

// Checks the header of a file of `file_size` bytes: magic, version, and that every region lies
// inside the file without overlap. Returns an empty string when valid, else what is wrong.
inline std::string check_header(const FileHeader& h, uint64_t file_size) {
  if (std::memcmp(h.magic, kFileMagic, 8) != 0) return "magic is not PTEPACK (not a .pte file)";
  if (h.header_size != kHeaderSize)
    return "header_size is " + std::to_string(h.header_size) + ", expected 64";
  if (h.format_version != kFormatVersion)
    return "format_version is " + std::to_string(h.format_version) + ", this reader supports 1";
  if (h.file_size != file_size)
    return "header says file_size " + std::to_string(h.file_size) + " but the file has " +
           std::to_string(file_size) + " bytes (truncated or appended to?)";
  if (h.flatbuffer_offset < kHeaderSize || h.flatbuffer_offset > file_size ||
      h.flatbuffer_size > file_size - h.flatbuffer_offset)
    return "flatbuffer region [" + std::to_string(h.flatbuffer_offset) + ", +" +
           std::to_string(h.flatbuffer_size) + ") is outside the file";
  if (h.segment_offset % kSegmentAlignment != 0 ||
      h.segment_offset < h.flatbuffer_offset + h.flatbuffer_size || h.segment_offset > file_size ||
      h.segment_size > file_size - h.segment_offset)
    return "data segment [" + std::to_string(h.segment_offset) + ", +" +
           std::to_string(h.segment_size) + ") is misaligned, overlaps the flatbuffer or is outside the file";
  return "";
}

}  // namespace pte
