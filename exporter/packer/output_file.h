#pragma once
// The output .pte while it is being written, so that no partial file is ever left behind, even
// when the process is killed:
// - Where the file system supports it, an unnamed file (O_TMPFILE) in the destination's
//   folder: nothing has a name until commit() links it and renames it over the destination, so
//   SIGKILL, a crash or a full disk leave nothing (and the previous file intact).
// - Elsewhere, a named temporary file next to the destination, removed by the destructor on
//   every error path and by a handler for SIGINT, SIGTERM and SIGHUP (only SIGKILL can leave it).
#include <cstdint>
#include <string>

namespace pte {

class OutputFile {
 public:
  enum class Naming { Auto, NamedTemporary };  // NamedTemporary: the fallback, forced (tests)

  explicit OutputFile(const std::string& destination, Naming naming = Naming::Auto);
  ~OutputFile();  // removes the temporary file unless committed
  OutputFile(OutputFile&& other) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  OutputFile& operator=(OutputFile&&) = delete;

  void write_at(uint64_t offset, const void* data, size_t size);
  // The same through a second descriptor opened with O_DIRECT: the bytes go from `data` to the
  // device, not copied into the page cache first (on a virtual machine, filling fresh page
  // cache pages costs more than the disk write). `offset`, `size` and `data` must be multiples
  // of kDirectAlignment. Returns false, having written nothing, where the file system refuses
  // direct I/O; the caller then uses write_at.
  bool write_direct_at(uint64_t offset, const void* data, size_t size);
  static constexpr size_t kDirectAlignment = 4096;
  void read_at(uint64_t offset, void* data, size_t size) const;
  void truncate(uint64_t size);
  void commit();  // gives the finished file the destination's name (atomically replacing it)
  uint64_t bytes_written() const { return bytes_written_; }
  // A path that opens this very file (/proc/self/fd/N) while it is open.
  std::string readable_path() const;

 private:
  std::string destination_;
  std::string folder_;
  std::string temp_path_;    // empty while the file has no name
  int fd_ = -1;
  int direct_fd_ = -2;  // -2: not opened yet; -1: direct I/O unavailable
  bool committed_ = false;
  uint64_t bytes_written_ = 0;
};

}  // namespace pte
