#include "tokenizers/tokenizer.h"

#include "common/error.h"
#include "common/json_input.h"
#include "tokenizers/hf_tokenizer.h"
#include "tokenizers/llama2c_tokenizer.h"
#include "tokenizers/sentencepiece_tokenizer.h"
#include "tokenizers/tiktoken_tokenizer.h"

namespace pte::tokenizers {

const char* format_name(TokenizerFormat format) {
  switch (format) {
    case TokenizerFormat::Llama2c: return "llama2c";
    case TokenizerFormat::SentencePiece: return "sentencepiece";
    case TokenizerFormat::Tiktoken: return "tiktoken";
    case TokenizerFormat::HuggingFace: return "hf_tokenizer_json";
  }
  return "?";
}

std::optional<TokenizerFormat> format_from_name(std::string_view name) {
  for (TokenizerFormat f : {TokenizerFormat::Llama2c, TokenizerFormat::SentencePiece, TokenizerFormat::Tiktoken,
                            TokenizerFormat::HuggingFace})
    if (name == format_name(f)) return f;
  return std::nullopt;
}

TokenizerFormat detect_format(std::string_view bytes, const std::string& source) {
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && bytes[first] == '{') return TokenizerFormat::HuggingFace;
  if (looks_like_tiktoken(bytes)) return TokenizerFormat::Tiktoken;
  // A SentencePiece ModelProto starts with field 1 (pieces), length-delimited: tag 0x0A. A
  // llama2.c file starts with a small int32 max_token_length, so its second byte is 0.
  if (bytes.size() >= 2 && bytes[0] == '\x0A' && bytes[1] != '\0') return TokenizerFormat::SentencePiece;
  if (bytes.size() >= 4 && bytes[2] == '\0' && bytes[3] == '\0') return TokenizerFormat::Llama2c;
  throw Error(source + ": not a tokenizer file of a supported format (expected a Hugging Face tokenizer.json, a "
                       "tiktoken ranks file, a SentencePiece tokenizer.model or a llama2.c tokenizer.bin)");
}

std::unique_ptr<Tokenizer> load_tokenizer(TokenizerFormat format, std::string_view bytes, const std::string& source) {
  switch (format) {
    case TokenizerFormat::Llama2c: return std::make_unique<Llama2cTokenizer>(bytes, source);
    case TokenizerFormat::SentencePiece: return std::make_unique<SentencePieceTokenizer>(bytes, source);
    case TokenizerFormat::Tiktoken: return std::make_unique<TiktokenTokenizer>(bytes, source);
    case TokenizerFormat::HuggingFace: return std::make_unique<HfTokenizer>(bytes, source);
  }
  throw Error(source + ": unknown tokenizer format");
}

std::unique_ptr<Tokenizer> load_tokenizer_file(const std::string& path) {
  const std::string bytes = read_small_file(path, size_t{256} << 20);
  return load_tokenizer(detect_format(bytes, path), bytes, path);
}

}  // namespace pte::tokenizers
