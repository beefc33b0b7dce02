#pragma once
// Runs produce(i) for i in [0, n) on worker threads and consume(i, result) on the calling
// thread strictly in index order, with at most `window` results alive at once. Output order,
// and so the file, never depends on the thread count; memory stays about window x largest item.
// The first exception from produce or consume stops the work and is rethrown here.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace pte {

using Bytes = std::vector<uint8_t>;

void ordered_parallel(size_t n, int threads, size_t window,
                      const std::function<void(size_t index, Bytes& out)>& produce,
                      const std::function<void(size_t index, Bytes& result)>& consume);

}  // namespace pte
