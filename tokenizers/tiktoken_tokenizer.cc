#include "tokenizers/tiktoken_tokenizer.h"

#include "common/error.h"
#include "tokenizers/base64.h"
#include "tokenizers/bpe_merge.h"
#include "tokenizers/special_split.h"

namespace pte::tokenizers {

const char* const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::vector<std::string> llama3_special_tokens() {
  std::vector<std::string> s = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                                "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
                                "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>",
                                "<|python_tag|>"};
  for (int i = 2; s.size() < 256; ++i) s.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
  return s;
}

bool looks_like_tiktoken(std::string_view bytes) {
  const size_t end = bytes.find('\n');
  std::string_view line = bytes.substr(0, end);
  const size_t space = line.find(' ');
  if (space == 0 || space == std::string_view::npos || space + 1 == line.size()) return false;
  for (size_t i = 0; i < line.size(); ++i)
    if (i != space && !(i > space ? std::isdigit(static_cast<unsigned char>(line[i])) : is_base64_char(line[i])))
      return false;
  return true;
}

TiktokenTokenizer::TiktokenTokenizer(std::string_view bytes, const std::string& source)
    : source_(source), pattern_(kLlama3Pattern, source) {
  size_t line_no = 0, pos = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos) end = bytes.size();
    std::string_view line = bytes.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) continue;
    auto fail = [&](const std::string& what) {
      throw Error(source + ": tiktoken ranks file line " + std::to_string(line_no) + ": " + what);
    };
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) fail("expected '<base64> <rank>', found no space");
    std::optional<std::string> token = decode_base64(line.substr(0, space));
    if (!token || token->empty()) fail("the token is not valid base64");
    std::string_view rank_text = line.substr(space + 1);
    uint64_t rank = 0;
    for (char c : rank_text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || rank > (1u << 30)) fail("the rank is not a small integer");
      rank = rank * 10 + static_cast<uint64_t>(c - '0');
    }
    if (rank_text.empty()) fail("the rank is missing");
    if (rank != tokens_.size())
      fail("rank " + std::to_string(rank) + " where " + std::to_string(tokens_.size()) + " was expected (ranks are 0, 1, 2, ...)");
    if (!ranks_.emplace(*token, static_cast<int32_t>(rank)).second) fail("the token repeats an earlier one");
    tokens_.push_back(std::move(*token));
  }
  for (int b = 0; b < 256; ++b)
    if (!ranks_.count(std::string(1, static_cast<char>(b))))
      throw Error(source + ": tiktoken ranks file has no token for the single byte " + std::to_string(b) +
                  " (every byte must have one)");
  specials_ = llama3_special_tokens();
}

void TiktokenTokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
  for (auto [b, e] : pattern_.matches(text)) {
    std::string piece(text.substr(b, e - b));
    if (auto it = ranks_.find(piece); it != ranks_.end()) {
      out.push_back(it->second);
      continue;
    }
    std::vector<int32_t> symbols;
    for (char c : piece) symbols.push_back(ranks_.at(std::string(1, c)));
    auto merge = [this](int32_t l, int32_t r) -> std::optional<Merge> {
      auto it = ranks_.find(tokens_[l] + tokens_[r]);
      if (it == ranks_.end()) return std::nullopt;
      return Merge{static_cast<uint32_t>(it->second), it->second};
    };
    for (int32_t id : bpe_merge(std::move(symbols), merge)) out.push_back(id);
  }
}

std::vector<int32_t> TiktokenTokenizer::encode(std::string_view text) const {
  check_utf8(text, source_);
  std::vector<int32_t> out;
  for (const SpecialSplit& s : split_on_specials(text, specials_)) {
    if (s.special >= 0) out.push_back(static_cast<int32_t>(tokens_.size()) + s.special);
    else encode_ordinary(s.text, out);
  }
  return out;
}

std::string TiktokenTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) {
    if (id >= 0 && static_cast<size_t>(id) < tokens_.size()) text += tokens_[id];
    else if (id >= 0 && static_cast<size_t>(id) < vocab_size()) text += specials_[id - tokens_.size()];
    else
      throw Error(source_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                  std::to_string(vocab_size()) + " tokens");
  }
  return text;
}

SpecialTokens TiktokenTokenizer::special_tokens() const {
  const auto n = static_cast<int32_t>(tokens_.size());
  return {n, {n + 1, n + 9}, std::nullopt};  // <|begin_of_text|>; <|end_of_text|>, <|eot_id|>
}

std::optional<int32_t> TiktokenTokenizer::token_id(std::string_view token) const {
  for (size_t i = 0; i < specials_.size(); ++i)
    if (specials_[i] == token) return static_cast<int32_t>(tokens_.size() + i);
  if (auto it = ranks_.find(std::string(token)); it != ranks_.end()) return it->second;
  return std::nullopt;
}

}  // namespace pte::tokenizers
