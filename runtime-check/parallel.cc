#include "runtime-check/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace pte::runtime {
namespace {

constexpr size_t kMinWorkPerThread = size_t{1} << 18;

std::atomic<size_t>& configured_threads() {
  static std::atomic<size_t> n{std::max<size_t>(1, std::thread::hardware_concurrency())};
  return n;
}

}  // namespace

void set_thread_count(size_t threads) { configured_threads() = std::max<size_t>(1, threads); }
size_t thread_count() { return configured_threads(); }

void parallel_for(size_t count, size_t work_per_item, const std::function<void(size_t, size_t)>& fn) {
  size_t total = count * std::max<size_t>(1, work_per_item);
  size_t threads = std::min({thread_count(), count, std::max<size_t>(1, total / kMinWorkPerThread)});
  if (threads <= 1) {
    if (count) fn(0, count);
    return;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(threads);
  size_t chunk = (count + threads - 1) / threads;
  for (size_t t = 0; t < threads; ++t) {
    size_t begin = t * chunk, end = std::min(count, begin + chunk);
    if (begin >= end) break;
    workers.emplace_back([&, t, begin, end] {
      try {
        fn(begin, end);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace pte::runtime
