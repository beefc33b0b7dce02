// tiktoken ranks files: a hand-made vocabulary (every byte at rank = its value, then "he",
// "ll", "hell") with hand-computed ids; malformed files.
#include <gtest/gtest.h>

#include "common/error.h"
#include "tokenizers/tiktoken_tokenizer.h"
#include "tokenizers/tokenizer.h"

namespace pte::tokenizers {
namespace {

using Ids = std::vector<int32_t>;

std::string base64(const std::string& bytes) {
  const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? a[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? a[n & 63] : '=';
  }
  return out;
}

std::string ranks_file(const std::vector<std::string>& extra, int skip_byte = -1) {
  std::string out;
  int rank = 0;
  for (int b = 0; b < 256; ++b)
    if (b != skip_byte) out += base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(rank++) + "\n";
  for (const std::string& t : extra) out += base64(t) + " " + std::to_string(rank++) + "\n";
  return out;
}

TEST(TiktokenTokenizer, MergesByRankAndEncodesSpecialTokens) {
  const std::string file = ranks_file({"he", "ll", "hell"});
  ASSERT_EQ(detect_format(file, "t.model"), TokenizerFormat::Tiktoken);
  TiktokenTokenizer t(file, "t.model");
  EXPECT_EQ(t.vocab_size(), 259u + 256u);
  // hello: he (256) first, then ll (257), then he+ll = hell (258); "o" stays a byte.
  EXPECT_EQ(t.encode("hello"), (Ids{258, 'o'}));
  // Llama 3's pattern: " world" is one piece; "<|eot_id|>" is special id 259 + 9.
  EXPECT_EQ(t.encode("hello<|eot_id|> wo"), (Ids{258, 'o', 268, ' ', 'w', 'o'}));
  EXPECT_EQ(t.decode(Ids{258, 'o', 268}), "hello<|eot_id|>");
  EXPECT_EQ(t.special_tokens().bos, 259);
  EXPECT_EQ(t.special_tokens().eos, (Ids{260, 268}));
  EXPECT_EQ(t.token_id("<|start_header_id|>"), 265);
  EXPECT_EQ(t.token_id("<|reserved_special_token_246|>"), 259 + 255);
  EXPECT_THROW(t.decode(Ids{259 + 256}), Error);
}

TEST(TiktokenTokenizer, RejectsMalformedFiles) {
  EXPECT_THROW(TiktokenTokenizer(ranks_file({}, 7), "gap.model"), Error);  // ranks fine, byte 7 missing
  EXPECT_THROW(TiktokenTokenizer(ranks_file({}) + "!!!! 256\n", "b64.model"), Error);
  EXPECT_THROW(TiktokenTokenizer(ranks_file({}) + base64("ab") + " 300\n", "rank.model"), Error);
  EXPECT_THROW(TiktokenTokenizer(ranks_file({}) + base64("a") + " 256\n", "dup.model"), Error);
  try {
    TiktokenTokenizer(ranks_file({}) + base64("ab") + " x\n", "bad.model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "bad.model: tiktoken ranks file line 257: the rank is not a small integer");
  }
}

}  // namespace
}  // namespace pte::tokenizers
