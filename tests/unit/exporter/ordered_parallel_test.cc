#include "exporter/packer/ordered_parallel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace pte {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(OrderedParallel, ConsumesInIndexOrderWhateverTheThreadCount) {
  for (int threads : {1, 2, 5}) {
    std::vector<size_t> order;
    ordered_parallel<Bytes>(
        50, threads, 4,
        [](size_t i, Bytes& out) {
          // Later items finish first, to provoke reordering.
          std::this_thread::sleep_for(std::chrono::microseconds((50 - i) * 20));
          out.assign(i + 1, static_cast<uint8_t>(i));
        },
        [&](size_t i, Bytes& b) {
          ASSERT_EQ(b.size(), i + 1);
          ASSERT_EQ(b[0], static_cast<uint8_t>(i));
          order.push_back(i);
        });
    ASSERT_EQ(order.size(), 50u);
    for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i);
  }
}

TEST(OrderedParallel, RethrowsTheFirstFailure) {
  for (int threads : {1, 3}) {
    size_t consumed = 0;
    EXPECT_THROW(ordered_parallel<Bytes>(
                     20, threads, 4,
                     [](size_t i, Bytes& out) {
                       if (i == 7) throw std::runtime_error("boom");
                       out.assign(1, 0);
                     },
                     [&](size_t, Bytes&) { ++consumed; }),
                 std::runtime_error);
    EXPECT_LE(consumed, 7u);
  }
}

}  // namespace
}  // namespace pte
