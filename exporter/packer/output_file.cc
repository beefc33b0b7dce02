#include "exporter/packer/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/error.h"

namespace pte {

OutputFile::OutputFile(const std::string& destination) : destination_(destination) {
  std::vector<char> tmpl(destination.begin(), destination.end());
  const std::string suffix = ".tmp.XXXXXX";
  tmpl.insert(tmpl.end(), suffix.begin(), suffix.end());
  tmpl.push_back('\0');
  fd_ = ::mkstemp(tmpl.data());
  if (fd_ < 0) throw Error(destination + ": cannot create the output file: " + std::strerror(errno));
  temp_path_ = tmpl.data();
  mode_t mask = ::umask(0);  // mkstemp makes 0600; give the file the usual permissions
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void OutputFile::write_at(uint64_t offset, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::pwrite(fd_, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(destination_ + ": write failed: " + std::strerror(errno));
    p += n; size -= static_cast<size_t>(n); offset += static_cast<uint64_t>(n);
    bytes_written_ += static_cast<uint64_t>(n);
  }
}

void OutputFile::read_at(uint64_t offset, void* data, size_t size) const {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = ::pread(fd_, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(destination_ + ": read-back failed: " + std::strerror(errno));
    p += n; size -= static_cast<size_t>(n); offset += static_cast<uint64_t>(n);
  }
}

void OutputFile::truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
    throw Error(destination_ + ": cannot size the output file: " + std::strerror(errno));
}

void OutputFile::commit() {
  // No fsync: the rename makes a complete file appear atomically for every reader; waiting
  // for the disk (most of a second per GB) would only add durability across a power loss.
  if (::rename(temp_path_.c_str(), destination_.c_str()) != 0)
    throw Error(destination_ + ": cannot rename the finished file into place: " + std::strerror(errno));
  committed_ = true;
}

}  // namespace pte
