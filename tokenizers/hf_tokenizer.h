#pragma once
// A Hugging Face tokenizer.json with a BPE model: byte-level (GPT-2 style: Llama 3, Qwen2.5,
// Qwen3, SmolLM2) or metaspace "▁" with or without byte fallback (Llama-2-style models
// converted to Hugging Face). The text is cut at added tokens (leftmost, longest; lstrip and
// rstrip honoured), each section between them is normalized and pre-tokenized, and each piece
// is merged by the ranks of `merges`. Special-token text in the input encodes as that token,
// as Hugging Face's encode does. The post-processor is not applied (BOS is the runner's
// business) but read: its template's special tokens before $A are the BOS.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizers/bpe_merge.h"
#include "tokenizers/hf_decoder.h"
#include "tokenizers/hf_normalizer.h"
#include "tokenizers/hf_pre_tokenizer.h"
#include "tokenizers/tokenizer.h"

namespace pte::tokenizers {

class HfTokenizer : public Tokenizer {
 public:
  // Throws pte::Error naming `source` and the field for anything malformed or unsupported.
  HfTokenizer(std::string_view bytes, const std::string& source);

  TokenizerFormat format() const override { return TokenizerFormat::HuggingFace; }
  size_t vocab_size() const override { return tokens_.size(); }
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  SpecialTokens special_tokens() const override { return {bos_, {}, std::nullopt}; }
  std::optional<int32_t> token_id(std::string_view token) const override;

 private:
  HfTokenizer(const nlohmann::json* root, const std::string& source);  // parsed
  struct AddedToken {
    int32_t id;
    std::string content;
    bool lstrip, rstrip;
  };
  void read_model(const nlohmann::json& model);
  void read_added_tokens(const nlohmann::json& list);
  void read_post_processor(const nlohmann::json& config);
  void encode_piece(const std::string& piece, std::vector<int32_t>& out) const;

  std::string source_;
  size_t id_limit_ = 0;  // vocab entries + added tokens: every id is below it
  std::vector<std::string> tokens_;          // by id ("" for an id no token has)
  std::vector<bool> has_token_;
  std::unordered_map<std::string, int32_t> vocab_;  // the model's vocabulary
  std::unordered_map<uint64_t, Merge> merges_;      // (left id << 32 | right id) -> merge
  std::vector<AddedToken> added_;
  std::vector<std::string> added_contents_;
  int32_t unk_ = -1;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  std::optional<int32_t> bos_;
  HfNormalizer normalizer_;
  HfPreTokenizer pre_tokenizer_;
  HfDecoder decoder_;
};

}  // namespace pte::tokenizers
