#include "exporter/checkpoint/zip_directory.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace pte {

namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr uint16_t kZip64ExtraId = 0x0001;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t* p) { return u16(p) | static_cast<uint32_t>(u16(p + 2)) << 16; }
uint64_t u64(const uint8_t* p) { return u32(p) | static_cast<uint64_t>(u32(p + 4)) << 32; }

// Where the central directory is and how many entries it holds.
struct DirectoryLocation {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t count = 0;
  uint64_t end_records_start = 0;  // the directory must end here
};

class DirectoryParser {
 public:
  explicit DirectoryParser(const MappedFile& file) : file_(file) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(file_.path() + ": malformed zip archive: " + what);
  }

  DirectoryLocation locate() const {
    const uint8_t* data = file_.data();
    const size_t size = file_.size();
    if (size < kEndSize) fail("file of " + std::to_string(size) + " bytes is too short for a zip");
    // The end record is followed only by its comment (at most 65535 bytes).
    const size_t lowest = size - kEndSize > 0xffff ? size - kEndSize - 0xffff : 0;
    size_t end = size - kEndSize + 1;
    bool found = false;
    while (end-- > lowest) {
      if (u32(data + end) == kEndSignature && end + kEndSize + u16(data + end + 20) == size) {
        found = true;
        break;
      }
    }
    if (!found) fail("no end-of-central-directory record (truncated file?)");
    const uint8_t* e = data + end;
    if (u16(e + 4) != 0 || u16(e + 6) != 0) fail("multi-disk archives are not supported");
    DirectoryLocation loc;
    loc.count = u16(e + 10);
    loc.size = u32(e + 12);
    loc.offset = u32(e + 16);
    loc.end_records_start = end;
    if (u16(e + 8) != u16(e + 10)) fail("end record entry counts disagree");

    const bool has_locator =
        end >= kZip64LocatorSize && u32(data + end - kZip64LocatorSize) == kZip64LocatorSignature;
    if (!has_locator) {
      if (loc.count == 0xffff || loc.size == 0xffffffff || loc.offset == 0xffffffff)
        fail("end record needs zip64 values but there is no zip64 locator");
      return loc;
    }
    const uint8_t* locator = data + end - kZip64LocatorSize;
    if (u32(locator + 4) != 0 || u32(locator + 16) > 1)
      fail("multi-disk archives are not supported");
    const uint64_t z64 = u64(locator + 8);
    const uint64_t locator_offset = end - kZip64LocatorSize;
    if (z64 > locator_offset || locator_offset - z64 < kZip64EndSize)
      fail("zip64 end record offset " + std::to_string(z64) + " is outside the archive");
    const uint8_t* r = data + z64;
    if (u32(r) != kZip64EndSignature) fail("no zip64 end record at offset " + std::to_string(z64));
    const uint64_t record_size = u64(r + 4);  // counts the bytes after this field
    if (record_size < kZip64EndSize - 12 || record_size > locator_offset - z64 - 12)
      fail("zip64 end record size " + std::to_string(record_size) + " is out of range");
    if (u32(r + 16) != 0 || u32(r + 20) != 0) fail("multi-disk archives are not supported");
    if (u64(r + 24) != u64(r + 32)) fail("zip64 end record entry counts disagree");
    // A value the plain end record does not mark as "see zip64" must agree with the zip64 one.
    const auto agree = [&](uint64_t plain, uint64_t saturated, uint64_t z, const char* what) {
      if (plain != saturated && plain != z)
        fail(std::string("end record and zip64 end record disagree on the ") + what + " (" +
             std::to_string(plain) + " vs " + std::to_string(z) + ")");
      return z;
    };
    loc.count = agree(loc.count, 0xffff, u64(r + 32), "central directory entry count");
    loc.size = agree(loc.size, 0xffffffff, u64(r + 40), "central directory size");
    loc.offset = agree(loc.offset, 0xffffffff, u64(r + 48), "central directory offset");
    loc.end_records_start = z64;
    return loc;
  }

  std::vector<ZipEntry> read_entries(const DirectoryLocation& loc) const {
    if (loc.offset > loc.end_records_start || loc.size != loc.end_records_start - loc.offset)
      fail("central directory at offset " + std::to_string(loc.offset) + " with size " +
           std::to_string(loc.size) + " does not end where the end records start (" +
           std::to_string(loc.end_records_start) + ")");
    if (loc.count > loc.size / kCentralHeaderSize)
      fail("central directory of " + std::to_string(loc.size) + " bytes cannot hold " +
           std::to_string(loc.count) + " entries");
    std::vector<ZipEntry> entries;
    entries.reserve(static_cast<size_t>(loc.count));
    uint64_t pos = loc.offset;
    const uint64_t end = loc.offset + loc.size;
    for (uint64_t i = 0; i < loc.count; ++i) {
      if (end - pos < kCentralHeaderSize)
        fail("central directory entry " + std::to_string(i) + " is truncated");
      const uint8_t* h = file_.data() + pos;
      if (u32(h) != kCentralHeaderSignature)
        fail("central directory entry " + std::to_string(i) + " at offset " + std::to_string(pos) +
             " has a bad signature");
      const uint64_t name_len = u16(h + 28), extra_len = u16(h + 30), comment_len = u16(h + 32);
      if (end - pos - kCentralHeaderSize < name_len + extra_len + comment_len)
        fail("central directory entry " + std::to_string(i) + " runs past the directory");
      ZipEntry entry;
      entry.index = static_cast<uint32_t>(i);
      entry.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
      const uint16_t flags = u16(h + 8);
      if (flags & 1) fail("entry '" + entry.name + "' is encrypted");
      entry.method = u16(h + 10);
      entry.crc32 = u32(h + 16);
      entry.compressed_size = u32(h + 20);
      entry.uncompressed_size = u32(h + 24);
      entry.local_header_offset = u32(h + 42);
      uint32_t disk = u16(h + 34);
      read_zip64_extra(entry, disk, h + kCentralHeaderSize + name_len, extra_len);
      if (disk != 0) fail("entry '" + entry.name + "' is on another disk");
      entries.push_back(std::move(entry));
      pos += kCentralHeaderSize + name_len + extra_len + comment_len;
    }
    if (pos != end)
      fail("central directory has " + std::to_string(end - pos) + " unexpected trailing bytes");
    return entries;
  }

  // Replaces the header fields that are saturated (0xffffffff) with their zip64 values.
  void read_zip64_extra(ZipEntry& entry, uint32_t& disk, const uint8_t* extra,
                        uint64_t length) const {
    const bool need_usize = entry.uncompressed_size == 0xffffffff;
    const bool need_csize = entry.compressed_size == 0xffffffff;
    const bool need_offset = entry.local_header_offset == 0xffffffff;
    const bool need_disk = disk == 0xffff;
    if (!need_usize && !need_csize && !need_offset && !need_disk) return;
    uint64_t pos = 0;
    while (length - pos >= 4) {
      const uint16_t id = u16(extra + pos), size = u16(extra + pos + 2);
      if (size > length - pos - 4) break;
      if (id == kZip64ExtraId) {
        const uint8_t* f = extra + pos + 4;
        const uint64_t needed = 8 * (need_usize + need_csize + need_offset) + 4 * need_disk;
        if (size < needed)
          fail("entry '" + entry.name + "' has a zip64 extra field of " + std::to_string(size) +
               " bytes, expected " + std::to_string(needed));
        if (need_usize) {
          entry.uncompressed_size = u64(f);
          f += 8;
        }
        if (need_csize) {
          entry.compressed_size = u64(f);
          f += 8;
        }
        if (need_offset) {
          entry.local_header_offset = u64(f);
          f += 8;
        }
        if (need_disk) disk = u32(f);
        return;
      }
      pos += 4 + size;
    }
    fail("entry '" + entry.name + "' needs a zip64 extra field but has none");
  }

  // Reads the local header of `entry` to find where its data starts.
  void locate_data(ZipEntry& entry, uint64_t directory_offset) const {
    const uint64_t lh = entry.local_header_offset;
    if (lh > directory_offset || directory_offset - lh < kLocalHeaderSize)
      fail("entry '" + entry.name + "' has local header offset " + std::to_string(lh) +
           " outside the data area (central directory at " + std::to_string(directory_offset) +
           ")");
    const uint8_t* h = file_.data() + lh;
    if (u32(h) != kLocalHeaderSignature)
      fail("entry '" + entry.name + "' has no local header at offset " + std::to_string(lh));
    if (u16(h + 6) & 1) fail("entry '" + entry.name + "' is encrypted");
    if (u16(h + 8) != entry.method)
      fail("entry '" + entry.name + "' has compression method " + std::to_string(u16(h + 8)) +
           " in its local header but " + std::to_string(entry.method) +
           " in the central directory");
    const uint64_t name_len = u16(h + 26), extra_len = u16(h + 28);
    const uint64_t header_end = lh + kLocalHeaderSize + name_len + extra_len;
    if (header_end > directory_offset)
      fail("entry '" + entry.name + "' has a local header that runs into the central directory");
    if (name_len != entry.name.size() ||
        std::memcmp(h + kLocalHeaderSize, entry.name.data(), name_len) != 0)
      fail("entry '" + entry.name + "' has a different name in its local header");
    entry.data_offset = header_end;
    if (entry.compressed_size > directory_offset - header_end)
      fail("entry '" + entry.name + "' has " + std::to_string(entry.compressed_size) +
           " bytes of data at offset " + std::to_string(header_end) +
           ", past the start of the central directory at " + std::to_string(directory_offset));
    if (entry.method == 0 && entry.compressed_size != entry.uncompressed_size)
      fail("stored entry '" + entry.name + "' has compressed size " +
           std::to_string(entry.compressed_size) + " but uncompressed size " +
           std::to_string(entry.uncompressed_size));
  }

 private:
  const MappedFile& file_;
};

}  // namespace

ZipDirectory::ZipDirectory(const MappedFile& file) {
  DirectoryParser parser(file);
  const DirectoryLocation loc = parser.locate();
  entries_ = parser.read_entries(loc);
  for (ZipEntry& e : entries_) {
    parser.locate_data(e, loc.offset);
    if (!by_name_.emplace(e.name, e.index).second)
      parser.fail("entry '" + e.name + "' appears twice");
  }
  // Entries must not share bytes: each runs from its local header to the end of its data.
  std::vector<const ZipEntry*> by_offset;
  for (const ZipEntry& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const ZipEntry* a, const ZipEntry* b) {
    return a->local_header_offset < b->local_header_offset;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const ZipEntry& prev = *by_offset[i - 1];
    if (prev.data_offset + prev.compressed_size > by_offset[i]->local_header_offset)
      parser.fail("entries '" + prev.name + "' and '" + by_offset[i]->name + "' overlap");
  }
}

const ZipEntry* ZipDirectory::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

}  // namespace pte
