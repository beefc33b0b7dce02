#pragma once
// Byte buffers handed back once their blob is written, for the next weights to fill. A fresh
// allocation of a few MB is fresh pages, which the kernel must fault in and zero one by one
// (a tenth of an export's time); a buffer used again already has them. Only buffers up to
// `max_bytes` are kept, and at most `max_count` of them, so the pool adds at most their
// product to the resident set.
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

namespace pte {

class BufferPool {
 public:
  BufferPool(size_t max_bytes, size_t max_count) : max_bytes_(max_bytes), max_count_(max_count) {}

  // An empty buffer, the one with the largest capacity kept (none: a new one).
  std::vector<uint8_t> take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return {};
    auto it = std::max_element(free_.begin(), free_.end(),
                               [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
    std::vector<uint8_t> b = std::move(*it);
    free_.erase(it);
    return b;
  }

  void give(std::vector<uint8_t>&& b) {
    b.clear();
    if (b.capacity() == 0 || b.capacity() > max_bytes_) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < max_count_) free_.push_back(std::move(b));
  }

 private:
  const size_t max_bytes_, max_count_;
  std::mutex mu_;
  std::vector<std::vector<uint8_t>> free_;
};

}  // namespace pte
