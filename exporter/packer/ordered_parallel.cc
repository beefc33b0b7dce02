#include "exporter/packer/ordered_parallel.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

namespace pte {

void ordered_parallel(size_t n, int threads, size_t window,
                      const std::function<void(size_t, Bytes&)>& produce,
                      const std::function<void(size_t, Bytes&)>& consume) {
  if (n == 0) return;
  if (threads <= 1) {
    Bytes out;
    for (size_t i = 0; i < n; ++i) {
      produce(i, out);
      consume(i, out);
    }
    return;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, Bytes> ready;
  size_t next_claim = 0, consumed = 0;
  bool failed = false;
  std::exception_ptr error;

  auto worker = [&] {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return failed || next_claim >= n || next_claim < consumed + window; });
        if (failed || next_claim >= n) return;
        i = next_claim++;
      }
      Bytes out;
      try {
        produce(i, out);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed) error = std::current_exception();
        failed = true;
        cv.notify_all();
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
      Bytes item;
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
    std::lock_guard<std::mutex> lock(mu);
    if (!failed) error = std::current_exception();
    failed = true;
    cv.notify_all();
  }
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace pte
