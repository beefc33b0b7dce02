#pragma once
// The llama2.c tokenizer (tok512.bin and friends): int32 max_token_length, then per token a
// float32 score, an int32 byte length and the bytes. Encoding is llama2.c's `encode`: a dummy
// prefix space, one piece per UTF-8 code point, then greedy merging of the best-scoring
// adjacent pair. A code point that is not a token falls back to its bytes' <0xNN> tokens where
// the vocabulary has them (wherever they are), else to <unk>; a byte with neither is an error.
// BOS is id 1 and EOS id 2, as in llama2.c.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/tokenizer.h"

namespace pte::tokenizers {

class Llama2cTokenizer : public Tokenizer {
 public:
  static constexpr int32_t kBos = 1;
  static constexpr int32_t kEos = 2;

  // Reads every token up to the end of `bytes`. Throws pte::Error naming `source`.
  Llama2cTokenizer(std::string_view bytes, const std::string& source);

  TokenizerFormat format() const override { return TokenizerFormat::Llama2c; }
  size_t vocab_size() const override { return pieces_.size(); }
  std::vector<int32_t> encode(std::string_view text) const override;
  // BOS is dropped, the space after BOS is stripped, <0xNN> pieces become the raw byte.
  std::string decode(std::span<const int32_t> ids) const override;
  SpecialTokens special_tokens() const override { return {kBos, {kEos}, std::nullopt}; }
  std::optional<int32_t> token_id(std::string_view token) const override;

  const std::string& piece(int32_t id) const;  // throws for ids outside the vocabulary

 private:
  int32_t lookup(const std::string& piece) const;  // -1 when absent
  std::string decode_piece(int32_t previous, int32_t token) const;

  std::string source_;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t> ids_;
  std::array<int32_t, 256> byte_ids_;  // the <0xNN> token of each byte, -1 when absent
  int32_t unk_id_ = -1;                // the <unk> token, -1 when absent
};

}  // namespace pte::tokenizers
