#pragma once
// The output .pte while it is being written: a temporary file next to the destination that is
// renamed over it on commit() and removed if the export fails, so no partial file is ever left.
#include <cstdint>
#include <string>

namespace pte {

class OutputFile {
 public:
  explicit OutputFile(const std::string& destination);
  ~OutputFile();  // removes the temporary file unless committed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write_at(uint64_t offset, const void* data, size_t size);
  void read_at(uint64_t offset, void* data, size_t size) const;
  void truncate(uint64_t size);
  void commit();  // renames the finished file onto the destination
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  std::string destination_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
  uint64_t bytes_written_ = 0;
};

}  // namespace pte
