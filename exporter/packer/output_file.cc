#include "exporter/packer/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "common/regular_file.h"

namespace pte {
namespace {

// Named temporary files to remove when a signal ends the process. A fixed table of fixed
// buffers: the handler may only read memory and call async-signal-safe functions (unlink).
constexpr int kMaxPending = 8;
constexpr size_t kMaxPath = 4096;
char g_pending[kMaxPending][kMaxPath];
volatile sig_atomic_t g_pending_used[kMaxPending];

extern "C" void remove_pending_and_reraise(int sig) {
  for (int i = 0; i < kMaxPending; ++i)
    if (g_pending_used[i]) ::unlink(g_pending[i]);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_cleanup_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old{};
    ::sigaction(sig, nullptr, &old);
    if (old.sa_handler == SIG_IGN) continue;  // e.g. under nohup: stay ignored
    struct sigaction sa{};
    sa.sa_handler = remove_pending_and_reraise;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

int register_pending(const std::string& path) {
  if (path.size() >= kMaxPath) return -1;
  install_cleanup_handlers();
  for (int i = 0; i < kMaxPending; ++i)
    if (!g_pending_used[i]) {
      std::memcpy(g_pending[i], path.c_str(), path.size() + 1);
      g_pending_used[i] = 1;
      return i;
    }
  return -1;
}

void unregister_pending(const std::string& path) {
  for (int i = 0; i < kMaxPending; ++i)
    if (g_pending_used[i] && path == g_pending[i]) g_pending_used[i] = 0;
}

mode_t creation_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

// Signals that would end the process are held back while the file gets its name.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, sig);
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockedSignals() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

}  // namespace

OutputFile::OutputFile(const std::string& destination, Naming naming)
    : destination_(destination), folder_(folder_of(destination)) {
  if (naming == Naming::Auto) {
    fd_ = ::open(folder_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;  // created with mode 0666 & ~umask
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT)
      throw Error(destination + ": cannot create the output file in " + folder_ + ": " + std::strerror(errno));
  }
  std::vector<char> tmpl(destination.begin(), destination.end());
  const std::string suffix = ".tmp.XXXXXX";
  tmpl.insert(tmpl.end(), suffix.begin(), suffix.end());
  tmpl.push_back('\0');
  {
    BlockedSignals hold;  // a signal between mkstemp and the registration must not leave the file
    fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd_ < 0) throw Error(destination + ": cannot create the output file: " + std::strerror(errno));
    temp_path_ = tmpl.data();
    register_pending(temp_path_);
  }
  ::fchmod(fd_, creation_mode());  // mkstemp makes 0600
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : destination_(std::move(other.destination_)),
      folder_(std::move(other.folder_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(other.fd_),
      direct_fd_(other.direct_fd_),
      committed_(other.committed_),
      bytes_written_(other.bytes_written_) {
  other.fd_ = -1;
  other.direct_fd_ = -1;
  other.temp_path_.clear();
  other.committed_ = true;
}

OutputFile::~OutputFile() {
  if (direct_fd_ >= 0) ::close(direct_fd_);
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    unregister_pending(temp_path_);
  }
}

std::string OutputFile::readable_path() const { return "/proc/self/fd/" + std::to_string(fd_); }

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

bool OutputFile::write_direct_at(uint64_t offset, const void* data, size_t size) {
  if (direct_fd_ == -2) {
    direct_fd_ = ::open(readable_path().c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
    if (direct_fd_ < 0) direct_fd_ = -1;
  }
  if (direct_fd_ < 0) return false;
  const char* p = static_cast<const char*>(data);
  bool wrote = false;
  while (size > 0) {
    ssize_t n = ::pwrite(direct_fd_, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && !wrote) {  // this file system takes no direct I/O
      ::close(direct_fd_);
      direct_fd_ = -1;
      return false;
    }
    if (n <= 0) throw Error(destination_ + ": write failed: " + std::strerror(errno));
    wrote = true;
    p += n; size -= static_cast<size_t>(n); offset += static_cast<uint64_t>(n);
    bytes_written_ += static_cast<uint64_t>(n);
  }
  return true;
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
  BlockedSignals hold;
  if (temp_path_.empty()) {
    // linkat cannot replace a name: link under a fresh temporary name, then rename over the
    // destination. Signals are held, so only SIGKILL in these two calls can leave the name.
    for (int attempt = 0;; ++attempt) {
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, ".tmp.%d.%d", static_cast<int>(::getpid()), attempt);
      const std::string name = destination_ + suffix;
      if (::linkat(AT_FDCWD, readable_path().c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        temp_path_ = name;
        break;
      }
      if (errno != EEXIST || attempt > 100)
        throw Error(destination_ + ": cannot name the finished file: " + std::strerror(errno));
    }
  }
  if (::rename(temp_path_.c_str(), destination_.c_str()) != 0) {
    const int e = errno;
    ::unlink(temp_path_.c_str());
    unregister_pending(temp_path_);
    temp_path_.clear();
    throw Error(destination_ + ": cannot rename the finished file into place: " + std::strerror(e));
  }
  unregister_pending(temp_path_);
  committed_ = true;
}

}  // namespace pte
