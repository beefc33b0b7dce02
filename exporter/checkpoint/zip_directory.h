#pragma once
// A strict reader of a zip archive's directory: end-of-central-directory record (and its zip64
// forms), central directory and local headers. It yields where each entry's data starts in the
// file, so stored entries can be used in place from the memory map. libzip has no public API
// for that offset, which is why this exists.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mapped_file.h"

namespace pte {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated; readers reject the rest
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  // first byte of the (compressed) data in the file
  uint32_t index = 0;        // position in the central directory
};

class ZipDirectory {
 public:
  // Throws pte::Error naming the file and the malformed record.
  explicit ZipDirectory(const MappedFile& file);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;

 private:
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace pte
