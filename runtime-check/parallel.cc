#include "runtime-check/parallel.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "common/thread_pool.h"

namespace pte::runtime {
namespace {

constexpr size_t kMinWorkPerThread = size_t{1} << 18;

std::atomic<size_t>& configured_threads() {
  static std::atomic<size_t> n{std::max<size_t>(1, std::thread::hardware_concurrency())};
  return n;
}

// A parallel_for called from inside a loop (on a worker or the caller) runs inline.
thread_local bool inside_loop = false;

}  // namespace

void set_thread_count(size_t threads) { configured_threads() = std::max<size_t>(1, threads); }
size_t thread_count() { return configured_threads(); }

void parallel_for(size_t count, size_t work_per_item, const std::function<void(size_t, size_t)>& fn) {
  const size_t total = count * std::max<size_t>(1, work_per_item);
  const size_t threads = std::min({thread_count(), count, std::max<size_t>(1, total / kMinWorkPerThread)});
  if (threads <= 1 || inside_loop) {
    if (count) fn(0, count);
    return;
  }
  // One pool, started once (again when the thread count changes), used by one loop at a time.
  static std::mutex mutex;
  static std::unique_ptr<ThreadPool> pool;
  std::lock_guard<std::mutex> lock(mutex);
  if (!pool || pool->size() != thread_count()) {
    pool.reset();
    pool = std::make_unique<ThreadPool>(thread_count());
  }
  // `threads` chunks at most: each part is worth a thread.
  pool->parallel_for(
      count, true,
      [&fn](size_t begin, size_t end, size_t) {
        const bool outer = inside_loop;
        inside_loop = true;
        struct Restore { bool value; ~Restore() { inside_loop = value; } } restore{outer};
        fn(begin, end);
      },
      (count + threads - 1) / threads);
}

}  // namespace pte::runtime
