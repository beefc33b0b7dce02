#pragma once
// A read-only memory map of a whole file. Readers hand out views into it; nothing is copied.
#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/types.h>

namespace pte {

class MappedFile {
 public:
  // Throws pte::Error naming the path when the file cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Identity of the mapped file, to refuse an output path that names an input.
  dev_t device() const { return device_; }
  ino_t inode() const { return inode_; }
  // True when [offset, offset + length) lies inside the file (overflow-safe).
  bool contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }
  // Tells the kernel this process is done with the pages of [data, data + length): they leave
  // its resident set (a later read faults them back in from the page cache, so releasing too
  // much costs time, never correctness). Pages only partly inside the range go too (ranges
  // rarely start on a page: kept, they would add up), and so do the kFaultAround bytes before
  // it: a page fault maps the cached pages around it, which brings back pages of ranges
  // released before. Does nothing for a range outside the map.
  void release(const uint8_t* data, size_t length) const;
  static constexpr uintptr_t kFaultAround = 64 * 1024;  // Linux's default fault_around_bytes

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace pte
