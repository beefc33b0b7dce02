#pragma once
// Runs produce(i) for i in [0, n) on worker threads and consume(i, result) on the calling
// thread strictly in index order, with at most `window` results alive at once. Output order,
// and so the file, never depends on the thread count; memory stays about window x largest item.
// The first exception from produce or consume stops the work and is rethrown here.
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace pte {

template <typename Item>
void ordered_parallel(size_t n, int threads, size_t window,
                      const std::function<void(size_t index, Item& out)>& produce,
                      const std::function<void(size_t index, Item& result)>& consume) {
  if (n == 0) return;
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) {
      Item item{};
      produce(i, item);
      consume(i, item);
    }
    return;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, Item> ready;
  size_t next_claim = 0, consumed = 0;
  bool failed = false;
  std::exception_ptr error;
  auto fail = [&](std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu);
    if (!failed) error = e;
    failed = true;
    cv.notify_all();
  };

  auto worker = [&] {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return failed || next_claim >= n || next_claim < consumed + window; });
        if (failed || next_claim >= n) return;
        i = next_claim++;
      }
      Item out{};
      try {
        produce(i, out);
      } catch (...) {
        fail(std::current_exception());
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      ready.emplace(i, std::move(out));
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  try {
    for (size_t i = 0; i < n; ++i) {
      Item item;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return failed || ready.count(i); });
        if (failed) break;
        item = std::move(ready.at(i));
        ready.erase(i);
      }
      consume(i, item);
      std::lock_guard<std::mutex> lock(mu);
      consumed = i + 1;
      cv.notify_all();
    }
  } catch (...) {
    fail(std::current_exception());
  }
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace pte
