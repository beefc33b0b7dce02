#pragma once
// A persistent pool of worker threads (the fast executor's, and the reference executor's
// parallel_for): threads are started once, and a
// parallel loop publishes its items, which the caller and whichever workers are awake claim in
// chunks; the caller waits only for chunks that were claimed, so a worker that is slow to wake
// (a busy machine) delays nothing. Nothing is allocated per loop.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace pte {

class ThreadPool {
 public:
  // `threads` counts the calling thread: 1 runs everything inline.
  explicit ThreadPool(size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }

  // Calls fn(begin, end, thread) on disjoint ranges covering [0, count), thread in [0, size()).
  // Runs inline when `parallel` is false or the pool has one thread. Rethrows the first error.
  // Items are claimed a few chunks per thread, or `chunk` at a time when it is given (heavy
  // items: one at a time leaves no thread waiting long on another's last chunk).
  template <typename Fn>
  void parallel_for(size_t count, bool parallel, Fn&& fn, size_t chunk = 0) {
    if (count == 0) return;
    if (!parallel || workers_.empty() || count == 1) {
      fn(size_t{0}, count, size_t{0});
      return;
    }
    using F = std::remove_reference_t<Fn>;
    run(count, [](void* ctx, size_t b, size_t e, size_t t) { (*static_cast<F*>(ctx))(b, e, t); }, &fn, chunk);
  }

 private:
  using Task = void (*)(void*, size_t, size_t, size_t);
  void run(size_t count, Task task, void* context, size_t chunk);
  void work(size_t thread);
  // Claims and runs chunks of loop `generation` until none is left.
  void drain(uint64_t generation, size_t thread);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t generation_ = 0;  // guarded by mutex_: the last loop published
  int sleepers_ = 0;         // guarded by mutex_
  bool stop_ = false;        // guarded by mutex_

  // The current loop: the cursor holds (generation << 32) | next item.
  std::atomic<uint64_t> cursor_{0};
  std::atomic<Task> task_{nullptr};
  std::atomic<void*> context_{nullptr};
  std::atomic<size_t> count_{0}, chunk_{1}, completed_{0};
  std::exception_ptr error_;
  std::mutex error_mutex_;
};

}  // namespace pte
