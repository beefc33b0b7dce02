#pragma once
// Incremental decoding for a runner that prints tokens as they come: each push returns the
// text that the ids so far have completed, never a part of a UTF-8 character (a character split
// over several byte tokens appears whole once its last byte arrives). Each push decodes all the
// ids so far, so that formats whose text depends on context (a leading space dropped after
// BOS) stream exactly what a whole decode gives.
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizers/tokenizer.h"

namespace pte::tokenizers {

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  // The new complete text after appending `ids`.
  std::string push(std::span<const int32_t> ids);
  std::string push(int32_t id) { return push(std::span<const int32_t>(&id, 1)); }
  // What is still held back (an unfinished character at the end of the ids), as raw bytes.
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  std::vector<int32_t> ids_;
  size_t emitted_ = 0;  // bytes of decode(ids_) already returned
};

// The length of the longest prefix of `bytes` that does not end inside a UTF-8 character: a
// trailing lead byte with fewer continuation bytes than it announces is cut off (anything else,
// valid or not, is kept).
size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace pte::tokenizers
