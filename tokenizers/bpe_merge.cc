#include "tokenizers/bpe_merge.h"

#include <queue>
#include <tuple>

namespace pte::tokenizers {

std::vector<int32_t> bpe_merge(std::vector<int32_t> symbols,
                               const std::function<std::optional<Merge>(int32_t, int32_t)>& merge) {
  const size_t n = symbols.size();
  if (n < 2) return symbols;
  // A linked list over the symbols (a merged pair keeps the left one's position) and a heap of
  // candidate merges ordered by (rank, position): the lowest rank first, the leftmost of equal
  // ranks, as the plain loop "merge the best adjacent pair, repeat" does, in O(n log n).
  // An entry whose symbols have changed since it was pushed is stale and skipped.
  std::vector<size_t> next(n), prev(n);
  std::vector<bool> alive(n, true);
  for (size_t i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i - 1;  // wraps for i = 0, never read
  }
  using Candidate = std::tuple<uint32_t, size_t, int32_t, int32_t, int32_t>;  // rank, pos, left, right, result
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](size_t left) {
    const size_t right = next[left];
    if (right >= n) return;
    if (std::optional<Merge> m = merge(symbols[left], symbols[right]))
      heap.emplace(m->rank, left, symbols[left], symbols[right], m->result);
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    const auto [rank, left, l, r, result] = heap.top();
    heap.pop();
    const size_t right = next[left];
    if (!alive[left] || right >= n || symbols[left] != l || symbols[right] != r) continue;
    symbols[left] = result;
    alive[right] = false;
    next[left] = next[right];
    if (next[right] < n) prev[next[right]] = left;
    consider(left);
    if (left > 0) consider(prev[left]);
  }
  std::vector<int32_t> out;
  for (size_t i = 0; i < n; i = next[i]) out.push_back(symbols[i]);
  return out;
}

}  // namespace pte::tokenizers
