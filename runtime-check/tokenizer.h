#pragma once
// The llama2.c tokenizer (tok512.bin and friends): int32 max_token_length, then per token a
// float32 score, an int32 byte length and the bytes. Encoding is llama2.c's `encode`: a dummy
// prefix space, one piece per UTF-8 code point with <0xNN> byte fallback (id = byte + 3), then
// greedy merging of the best-scoring adjacent pair.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pte::runtime {

class Tokenizer {
 public:
  static constexpr int32_t kBos = 1;
  static constexpr int32_t kEos = 2;

  // Reads every token up to the end of the file. Throws pte::Error naming the file.
  explicit Tokenizer(const std::string& path);

  size_t vocab_size() const { return pieces_.size(); }
  const std::string& piece(int32_t id) const;  // throws for ids outside the vocabulary

  std::vector<int32_t> encode(std::string_view text, bool bos, bool eos = false) const;
  // The text of `token` following `previous` (-1 for none): BOS is dropped, the space after BOS
  // is stripped, <0xNN> pieces become the raw byte.
  std::string decode_piece(int32_t previous, int32_t token) const;
  std::string decode(std::span<const int32_t> ids) const;

 private:
  int32_t lookup(const std::string& piece) const;  // -1 when absent

  std::string path_;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t> ids_;
};

}  // namespace pte::runtime
