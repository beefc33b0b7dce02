#include "tokenizers/llama2c_tokenizer.h"

#include <cstring>

#include "common/error.h"
#include "tokenizers/byte_tokens.h"

namespace pte::tokenizers {

Llama2cTokenizer::Llama2cTokenizer(std::string_view bytes, const std::string& source) : source_(source) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  auto fail = [&](const std::string& what) { throw Error(source + ": llama2.c tokenizer: " + what); };
  auto read_i32 = [&](size_t offset) {
    int32_t v;
    std::memcpy(&v, data + offset, 4);
    return v;
  };
  if (size < 4) fail("tokenizer file is " + std::to_string(size) + " bytes, expected at least a 4-byte header");
  if (read_i32(0) < 0) fail("max_token_length is negative");
  size_t offset = 4;
  while (offset < size) {
    if (size - offset < 8)
      fail("token " + std::to_string(pieces_.size()) + " at byte " + std::to_string(offset) + " is truncated");
    float score;
    std::memcpy(&score, data + offset, 4);
    int32_t length = read_i32(offset + 4);
    offset += 8;
    if (length < 0 || static_cast<size_t>(length) > size - offset)
      fail("token " + std::to_string(pieces_.size()) + " has length " + std::to_string(length) +
           " but only " + std::to_string(size - offset) + " bytes remain");
    pieces_.emplace_back(reinterpret_cast<const char*>(data + offset), static_cast<size_t>(length));
    scores_.push_back(score);
    ids_.emplace(pieces_.back(), static_cast<int32_t>(pieces_.size() - 1));  // first one wins
    offset += static_cast<size_t>(length);
  }
  if (pieces_.size() <= kEos) fail("tokenizer has " + std::to_string(pieces_.size()) + " tokens, too few for BOS/EOS");
  byte_ids_.fill(-1);
  for (size_t id = pieces_.size(); id-- > 0;)  // the first token of each byte wins
    if (int b = byte_token_value(pieces_[id]); b >= 0) byte_ids_[b] = static_cast<int32_t>(id);
  unk_id_ = lookup("<unk>");
}

const std::string& Llama2cTokenizer::piece(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= pieces_.size())
    throw Error(source_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(pieces_.size()) + " tokens");
  return pieces_[id];
}

int32_t Llama2cTokenizer::lookup(const std::string& piece) const {
  auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

std::optional<int32_t> Llama2cTokenizer::token_id(std::string_view token) const {
  int32_t id = lookup(std::string(token));
  return id < 0 ? std::nullopt : std::optional<int32_t>(id);
}

std::vector<int32_t> Llama2cTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> tokens;
  auto push_bytes = [&](std::string_view bytes) {
    for (unsigned char b : bytes) {
      if (byte_ids_[b] >= 0) tokens.push_back(byte_ids_[b]);
      else if (unk_id_ >= 0) tokens.push_back(unk_id_);
      else
        throw Error(source_ + ": text byte 0x" + hex_byte(b) + " is not in the vocabulary, which has neither a <0x" +
                    hex_byte(b) + "> nor an <unk> token");
    }
  };
  auto push_piece = [&](std::string_view piece) {
    int32_t id = lookup(std::string(piece));
    if (id >= 0) tokens.push_back(id); else push_bytes(piece);
  };
  if (!text.empty()) push_piece(" ");

  // One piece per UTF-8 code point (a lead byte and at most three continuation bytes).
  size_t start = 0;
  while (start < text.size()) {
    size_t end = start + 1;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80 && end - start < 4) ++end;
    push_piece(text.substr(start, end - start));
    start = end;
  }

  // Merge the best-scoring adjacent pair (the first on ties) until no pair is a token.
  while (true) {
    float best_score = -1e10f;
    int32_t best_id = -1;
    size_t best_index = 0;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      int32_t id = lookup(pieces_[tokens[i]] + pieces_[tokens[i + 1]]);
      if (id >= 0 && scores_[id] > best_score) {
        best_score = scores_[id];
        best_id = id;
        best_index = i;
      }
    }
    if (best_id < 0) break;
    tokens[best_index] = best_id;
    tokens.erase(tokens.begin() + static_cast<ptrdiff_t>(best_index) + 1);
  }
  return tokens;
}

std::string Llama2cTokenizer::decode_piece(int32_t previous, int32_t token) const {
  const std::string& p = piece(token);
  if (token == kBos) return "";
  if (int b = byte_token_value(p); b >= 0) return std::string(1, static_cast<char>(b));
  if (previous == kBos && !p.empty() && p[0] == ' ') return p.substr(1);
  return p;
}

std::string Llama2cTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) text += decode_piece(i ? ids[i - 1] : -1, ids[i]);
  return text;
}

}  // namespace pte::tokenizers
