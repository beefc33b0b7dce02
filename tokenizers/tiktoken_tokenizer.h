#pragma once
// A tiktoken BPE ranks file as Llama 3 ships it (tokenizer.model): one "<base64 bytes> <rank>"
// line per token, ranks 0..n-1. Llama 3's pre-tokenizer pattern splits the text, each piece is
// merged by rank from its bytes, and Llama 3's 256 special tokens follow the ranks (ids n..n+255:
// <|begin_of_text|>, <|end_of_text|>, ..., <|eot_id|>, ...). Special-token text in the input
// encodes as that special token, as tiktoken's encode(text, allowed_special="all").
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/split_regex.h"
#include "tokenizers/tokenizer.h"

namespace pte::tokenizers {

// Llama 3's pre-tokenizer pattern.
extern const char* const kLlama3Pattern;
// Llama 3's special tokens, in id order after the ranks.
std::vector<std::string> llama3_special_tokens();

// True when the first line of `bytes` has the shape of a ranks-file line.
bool looks_like_tiktoken(std::string_view bytes);

class TiktokenTokenizer : public Tokenizer {
 public:
  // Throws pte::Error naming `source` and the line for a malformed file.
  TiktokenTokenizer(std::string_view bytes, const std::string& source);

  TokenizerFormat format() const override { return TokenizerFormat::Tiktoken; }
  size_t vocab_size() const override { return tokens_.size() + specials_.size(); }
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  SpecialTokens special_tokens() const override;
  std::optional<int32_t> token_id(std::string_view token) const override;

 private:
  void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const;

  std::string source_;
  std::vector<std::string> tokens_;  // bytes by rank
  std::unordered_map<std::string, int32_t> ranks_;
  std::vector<std::string> specials_;  // id tokens_.size() + i
  SplitRegex pattern_;
};

}  // namespace pte::tokenizers
