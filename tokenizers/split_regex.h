#pragma once
// A pre-tokenizer pattern compiled by PCRE2 in UTF + Unicode-property mode (\p{L}, \s as
// Unicode white space, look-ahead), as tiktoken and Hugging Face patterns are written.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pte::tokenizers {

class SplitRegex {
 public:
  // Throws pte::Error naming `source` when the pattern does not compile.
  SplitRegex(const std::string& pattern, const std::string& source);
  ~SplitRegex();
  SplitRegex(const SplitRegex&) = delete;
  SplitRegex& operator=(const SplitRegex&) = delete;

  // [begin, end) of every non-overlapping match, left to right (an empty match advances by one
  // character). `text` must be valid UTF-8.
  std::vector<std::pair<size_t, size_t>> matches(std::string_view text) const;

 private:
  std::string source_;
  void* code_ = nullptr;  // pcre2_code_8
};

// Throws pte::Error naming `source` unless `text` is valid UTF-8.
void check_utf8(std::string_view text, const std::string& source);

}  // namespace pte::tokenizers
