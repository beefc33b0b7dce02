#pragma once
// One interface for every tokenizer format a .pte may carry: text -> ids, ids -> text. Each
// format follows its own rules for text the vocabulary cannot spell (byte fallback only to real
// <0xNN> tokens, else the unknown token, else an error); no id is ever guessed.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pte::tokenizers {

enum class TokenizerFormat { Llama2c, SentencePiece, Tiktoken, HuggingFace };

// The names stored in a .pte's tokenizer metadata: "llama2c", "sentencepiece", "tiktoken",
// "hf_tokenizer_json".
const char* format_name(TokenizerFormat format);
std::optional<TokenizerFormat> format_from_name(std::string_view name);

// What the format itself says about its special tokens (a .pte's metadata may say more).
struct SpecialTokens {
  std::optional<int32_t> bos;
  std::vector<int32_t> eos;
  std::optional<int32_t> pad;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual TokenizerFormat format() const = 0;
  // Ids are [0, vocab_size()).
  virtual size_t vocab_size() const = 0;
  // The ids of `text`, without BOS or EOS. Throws pte::Error naming the tokenizer's source.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // The bytes of `ids` (BOS and other control tokens as the format decodes them). The result
  // may end inside a UTF-8 character when the ids do; StreamDecoder holds such tails back.
  // Throws for an id outside the vocabulary.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  virtual SpecialTokens special_tokens() const = 0;
  // The id of a token given by its text (e.g. "<|eot_id|>" from tokenizer_config.json).
  virtual std::optional<int32_t> token_id(std::string_view token) const = 0;
};

// Recognises the format of a tokenizer file's bytes; throws pte::Error naming `source` when
// they are none of the supported ones.
TokenizerFormat detect_format(std::string_view bytes, const std::string& source);

// Parses `bytes` as `format`; `source` names them in every error.
std::unique_ptr<Tokenizer> load_tokenizer(TokenizerFormat format, std::string_view bytes, const std::string& source);

// Reads a tokenizer file (a regular file, at most 256 MiB), recognises its format and loads it.
std::unique_ptr<Tokenizer> load_tokenizer_file(const std::string& path);

}  // namespace pte::tokenizers
