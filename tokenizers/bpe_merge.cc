#include "tokenizers/bpe_merge.h"

namespace pte::tokenizers {

std::vector<int32_t> bpe_merge(std::vector<int32_t> symbols,
                               const std::function<std::optional<Merge>(int32_t, int32_t)>& merge) {
  if (symbols.size() < 2) return symbols;
  // pairs[i]: the merge of symbols[i] and symbols[i + 1], kept in step with `symbols`.
  std::vector<std::optional<Merge>> pairs(symbols.size() - 1);
  for (size_t i = 0; i + 1 < symbols.size(); ++i) pairs[i] = merge(symbols[i], symbols[i + 1]);
  while (!pairs.empty()) {
    size_t best = pairs.size();
    for (size_t i = 0; i < pairs.size(); ++i)
      if (pairs[i] && (best == pairs.size() || pairs[i]->rank < pairs[best]->rank)) best = i;
    if (best == pairs.size()) break;
    symbols[best] = pairs[best]->result;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    pairs.erase(pairs.begin() + static_cast<std::ptrdiff_t>(best));
    if (best < pairs.size()) pairs[best] = merge(symbols[best], symbols[best + 1]);
    if (best > 0) pairs[best - 1] = merge(symbols[best - 1], symbols[best]);
  }
  return symbols;
}

}  // namespace pte::tokenizers
