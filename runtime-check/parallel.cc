#include "runtime-check/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace pte::runtime {
namespace {

constexpr size_t kMinWorkPerThread = size_t{1} << 18;

std::atomic<size_t>& configured_threads() {
  static std::atomic<size_t> n{std::max<size_t>(1, std::thread::hardware_concurrency())};
  return n;
}

// A parallel_for called from inside a loop (on a worker or the caller) runs inline.
thread_local bool inside_loop = false;

// Threads started once and reused by every parallel_for: a loop hands part t of its items to
// worker t (part 0 runs on the caller) and waits until every part has run.
class Workers {
 public:
  explicit Workers(size_t count) {
    for (size_t t = 1; t <= count; ++t) threads_.emplace_back([this, t] { loop(t); });
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  size_t count() const { return threads_.size(); }

  // Runs fn on `parts` (at most count() + 1) contiguous ranges of [0, items).
  void run(size_t parts, size_t items, const std::function<void(size_t, size_t)>& fn) {
    std::vector<std::exception_ptr> errors(parts);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      errors_ = &errors;
      parts_ = parts;
      items_ = items;
      pending_ = parts - 1;
      ++generation_;
    }
    wake_.notify_all();
    run_part(0);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_ == 0; });
    }
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
  }

 private:
  void run_part(size_t part) {
    const size_t chunk = (items_ + parts_ - 1) / parts_;
    const size_t begin = std::min(items_, part * chunk), end = std::min(items_, begin + chunk);
    try {
      if (begin < end) (*fn_)(begin, end);
    } catch (...) {
      (*errors_)[part] = std::current_exception();
    }
  }

  void loop(size_t part) {
    inside_loop = true;
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (part >= parts_) continue;  // this loop needs fewer threads
      lock.unlock();
      run_part(part);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  uint64_t generation_ = 0;  // guarded by mutex_, as are the fields of the current loop
  bool stop_ = false;
  const std::function<void(size_t, size_t)>* fn_ = nullptr;
  std::vector<std::exception_ptr>* errors_ = nullptr;
  size_t parts_ = 0, items_ = 0, pending_ = 0;
};

// One loop at a time uses the workers.
std::mutex& workers_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

void set_thread_count(size_t threads) { configured_threads() = std::max<size_t>(1, threads); }
size_t thread_count() { return configured_threads(); }

void parallel_for(size_t count, size_t work_per_item, const std::function<void(size_t, size_t)>& fn) {
  size_t total = count * std::max<size_t>(1, work_per_item);
  size_t threads = std::min({thread_count(), count, std::max<size_t>(1, total / kMinWorkPerThread)});
  if (threads <= 1 || inside_loop) {
    if (count) fn(0, count);
    return;
  }
  static std::unique_ptr<Workers> workers;  // guarded by workers_mutex()
  std::lock_guard<std::mutex> lock(workers_mutex());
  if (!workers || workers->count() != thread_count() - 1) {
    workers.reset();
    workers = std::make_unique<Workers>(thread_count() - 1);
  }
  inside_loop = true;
  struct Reset { ~Reset() { inside_loop = false; } } reset;
  workers->run(threads, count, fn);
}

}  // namespace pte::runtime
