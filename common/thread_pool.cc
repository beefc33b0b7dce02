#include "common/thread_pool.h"

#include <algorithm>

namespace pte {
namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Iterations a worker spins waiting for the next loop before it sleeps: decode issues many
// short loops per token, and waking a sleeping thread costs more than most of them.
constexpr int kSpins = 4000;
constexpr uint64_t kIndexMask = 0xffffffffu;

}  // namespace

ThreadPool::ThreadPool(size_t threads) {
  for (size_t t = 1; t < std::max<size_t>(1, threads); ++t) workers_.emplace_back([this, t] { work(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    ++generation_;
  }
  cursor_.store((generation_ & kIndexMask) << 32 | kIndexMask, std::memory_order_release);
  wake_.notify_all();
  for (std::thread& w : workers_) w.join();
}

void ThreadPool::drain(uint64_t generation, size_t thread) {
  for (;;) {
    uint64_t c = cursor_.load(std::memory_order_acquire);
    if ((c >> 32) != (generation & kIndexMask)) return;
    const size_t count = count_.load(std::memory_order_relaxed), chunk = chunk_.load(std::memory_order_relaxed);
    const size_t begin = static_cast<size_t>(c & kIndexMask);
    if (begin >= count) return;
    if (!cursor_.compare_exchange_weak(c, c + chunk, std::memory_order_acq_rel)) continue;
    const size_t end = std::min(count, begin + chunk);
    try {
      task_.load(std::memory_order_relaxed)(context_.load(std::memory_order_relaxed), begin, end, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    completed_.fetch_add(end - begin, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(size_t count, Task task, void* context, size_t chunk) {
  // Close the previous loop's cursor before changing count_ and chunk_: a worker still in drain()
  // for that loop could otherwise read this loop's count, claim past the old loop's end with
  // a compare-exchange on the old cursor, and add a spurious chunk to completed_ (a hang). Its
  // compare-exchange now fails against the closed cursor. Only this thread writes generation_.
  cursor_.store((generation_ & kIndexMask) << 32 | kIndexMask, std::memory_order_seq_cst);
  task_.store(task, std::memory_order_relaxed);
  context_.store(context, std::memory_order_relaxed);
  count_.store(count, std::memory_order_relaxed);
  // A few chunks per thread balance uneven rows without much contention.
  chunk_.store(chunk ? chunk : std::max<size_t>(1, count / (size() * 4)), std::memory_order_relaxed);
  completed_.store(0, std::memory_order_relaxed);
  error_ = nullptr;
  uint64_t generation;
  bool notify;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation = ++generation_;
    notify = sleepers_ > 0;
  }
  cursor_.store((generation & kIndexMask) << 32, std::memory_order_release);
  if (notify) wake_.notify_all();
  drain(generation, 0);
  while (completed_.load(std::memory_order_acquire) != count) cpu_relax();
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::work(size_t thread) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t current = seen;
    for (int spins = 0; spins < kSpins && current == seen; ++spins) {
      cpu_relax();
      current = cursor_.load(std::memory_order_acquire) >> 32;
    }
    if (current == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      ++sleepers_;
      wake_.wait(lock, [&] { return (generation_ & kIndexMask) != seen || stop_; });
      --sleepers_;
      if (stop_) return;
      current = generation_ & kIndexMask;
    } else {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) return;
    }
    seen = current;
    drain(current, thread);
  }
}

}  // namespace pte
