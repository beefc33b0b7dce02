// Streaming decode: characters split over byte tokens come out whole, and the pieces add up to
// the whole decode.
#include <gtest/gtest.h>

#include "tests/unit/tokenizers/test_files.h"
#include "tokenizers/llama2c_tokenizer.h"
#include "tokenizers/stream_decoder.h"

namespace pte::tokenizers {
namespace {

TEST(StreamDecoder, NeverSplitsAUtf8Character) {
  const std::string bytes = testing::read_file(PTE_TEST_TOKENIZER);
  const Llama2cTokenizer t(bytes, "tok512.bin");
  // BOS, " " then the bytes of 日 (e6 97 a5) and 本 (e6 9c ac) as <0xNN> tokens (id = byte + 3).
  const std::vector<int32_t> ids = {1, 410, 233, 154, 168, 233, 159, 175};
  StreamDecoder d(t);
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(d.push(id));
  EXPECT_EQ(out, (std::vector<std::string>{"", "", "", "", "\xe6\x97\xa5", "", "", "\xe6\x9c\xac"}));
  EXPECT_EQ(d.finish(), "");
}

TEST(StreamDecoder, FinishFlushesAnUnfinishedCharacter) {
  const std::string bytes = testing::read_file(PTE_TEST_TOKENIZER);
  const Llama2cTokenizer t(bytes, "tok512.bin");
  StreamDecoder d(t);
  EXPECT_EQ(d.push(std::vector<int32_t>{1, 403, 233, 154}), "Once");
  EXPECT_EQ(d.finish(), "\xe6\x97");
}

TEST(StreamDecoder, CompleteUtf8Prefix) {
  EXPECT_EQ(complete_utf8_prefix("abc"), 3u);
  EXPECT_EQ(complete_utf8_prefix("a\xe6\x97"), 1u);
  EXPECT_EQ(complete_utf8_prefix("a\xe6\x97\xa5"), 4u);
  EXPECT_EQ(complete_utf8_prefix("\xf0\x9f\x98"), 0u);
  EXPECT_EQ(complete_utf8_prefix("a\x97"), 2u);  // a stray continuation byte is not held back
}

}  // namespace
}  // namespace pte::tokenizers
