#pragma once
// Splitting a loop over independent items across threads, for the heavy kernels. The threads
// are started once (and again only when the thread count changes), not per call.
#include <cstddef>
#include <functional>

namespace pte::runtime {

// Calls fn(begin, end) on disjoint ranges covering [0, count). Runs inline when the total work
// (count * work_per_item, in rough multiply-adds) is too small to pay for starting threads.
void parallel_for(size_t count, size_t work_per_item, const std::function<void(size_t, size_t)>& fn);

// Number of threads parallel_for may use (default: hardware concurrency).
void set_thread_count(size_t threads);
size_t thread_count();

}  // namespace pte::runtime
