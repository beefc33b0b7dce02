#pragma once
// Fuzz inputs handed to pte's readers as files: the readers open paths (they mmap), so each input
// becomes an in-memory file (memfd) opened through /proc/self/fd/N. Only pte::Error is an
// expected outcome of a reader; any other exception, crash, leak or sanitizer report is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pte::fuzz {

class MemoryFile {
 public:
  MemoryFile(const uint8_t* data, size_t size) {
    fd_ = ::memfd_create("pte-fuzz", MFD_CLOEXEC);
    size_t done = 0;
    while (fd_ >= 0 && done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  ~MemoryFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_ = -1;
};

// Splits an input into two files at the first occurrence of `separator` (absent: all is the first).
struct TwoParts {
  const uint8_t* first;
  size_t first_size;
  const uint8_t* second;
  size_t second_size;
};
inline TwoParts split_input(const uint8_t* data, size_t size, const std::string& separator) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t at = all.find(separator);
  if (at == std::string_view::npos) return {data, size, data + size, 0};
  return {data, at, data + at + separator.size(), size - at - separator.size()};
}

}  // namespace pte::fuzz
