#pragma once
// A SentencePiece model (tokenizer.model of Llama 2, TinyLlama, Mistral), run by the
// SentencePiece library itself: its normalizer, its BPE or unigram model, its byte fallback
// and <unk> rules. The library is reached through sentencepiece_shim.cc (see there why).
#include <string>
#include <string_view>

#include "tokenizers/tokenizer.h"

namespace pte::tokenizers {

class SentencePieceTokenizer : public Tokenizer {
 public:
  // `bytes` is a serialized ModelProto. Throws pte::Error naming `source`.
  SentencePieceTokenizer(std::string_view bytes, const std::string& source);
  ~SentencePieceTokenizer() override;
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  TokenizerFormat format() const override { return TokenizerFormat::SentencePiece; }
  size_t vocab_size() const override { return static_cast<size_t>(size_); }
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  SpecialTokens special_tokens() const override;
  std::optional<int32_t> token_id(std::string_view token) const override;

 private:
  std::string source_;
  void* handle_ = nullptr;
  int size_ = 0;
};

}  // namespace pte::tokenizers
