#include "common/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "common/regular_file.h"

namespace pte {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  RegularFile file(path);
  size_ = file.size();
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
    if (p == MAP_FAILED) throw Error(path + ": cannot mmap: " + std::strerror(errno));
    data_ = static_cast<const uint8_t*>(p);
  }
  device_ = file.device();
  inode_ = file.inode();
}

void MappedFile::release(const uint8_t* data, size_t length) const {
  if (!data_ || data < data_ || length > size_ || data - data_ > static_cast<ptrdiff_t>(size_ - length)) return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t map_begin = reinterpret_cast<uintptr_t>(data_);
  const uintptr_t map_end = (map_begin + size_ + page - 1) / page * page;
  uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  begin = begin - map_begin > kFaultAround ? begin - kFaultAround : map_begin;
  begin = begin / page * page;
  const uintptr_t end = std::min(map_end, (reinterpret_cast<uintptr_t>(data) + length + page - 1) / page * page);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace pte
