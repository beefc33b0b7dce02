#pragma once
// An input file opened for reading only if it is a regular file. The open itself cannot block
// (O_NONBLOCK: a FIFO named as a checkpoint would otherwise wait forever for a writer), and
// anything but a regular file (FIFO, device, socket, directory) is refused with an error naming
// the path and what it is.
#include <sys/types.h>

#include <cstddef>
#include <string>

namespace pte {

class RegularFile {
 public:
  explicit RegularFile(const std::string& path);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int fd() const { return fd_; }
  size_t size() const { return size_; }
  dev_t device() const { return device_; }
  ino_t inode() const { return inode_; }

 private:
  int fd_ = -1;
  size_t size_ = 0;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

// "a directory", "a FIFO", ... for messages about st_mode.
const char* file_kind(unsigned mode);

// The folder that holds `path`: "." for a bare name, "/" for a file in the root.
std::string folder_of(const std::string& path);

}  // namespace pte
