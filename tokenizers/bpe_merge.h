#pragma once
// The byte-pair-encoding merge loop shared by tiktoken and Hugging Face BPE: repeatedly merge
// the adjacent pair of lowest rank (the leftmost of equal ranks) until no pair merges.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace pte::tokenizers {

struct Merge {
  uint32_t rank;   // lower merges first
  int32_t result;  // the symbol the pair becomes
};

// `merge(left, right)` tells whether two adjacent symbols merge. Returns the final symbols.
std::vector<int32_t> bpe_merge(std::vector<int32_t> symbols,
                               const std::function<std::optional<Merge>(int32_t, int32_t)>& merge);

}  // namespace pte::tokenizers
