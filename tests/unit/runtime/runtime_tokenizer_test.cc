// The llama2.c tokenizer on tok512.bin (stories260K); expected ids from llama2.c's encode.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "runtime-check/tokenizer.h"
#include "tests/unit/runtime/tiny_programs.h"

namespace pte::runtime {
namespace {

using Ids = std::vector<int32_t>;

const Tokenizer& tok512() {
  static const Tokenizer t(PTE_TEST_TOKENIZER);
  return t;
}

TEST(RuntimeTokenizer, EncodesOnceUponATimeLikeLlama2c) {
  EXPECT_EQ(tok512().vocab_size(), 512u);
  EXPECT_EQ(tok512().encode("Once upon a time", true), (Ids{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok512().encode("Once upon a time", false), (Ids{403, 407, 261, 378}));
  EXPECT_EQ(tok512().encode("Once upon a time", true, true), (Ids{1, 403, 407, 261, 378, 2}));
  EXPECT_EQ(tok512().encode("", true), (Ids{1}));
}

TEST(RuntimeTokenizer, FallsBackToBytesAndMerges) {
  EXPECT_EQ(tok512().encode("Hello, world!", true), (Ids{1, 346, 306, 414, 432, 263, 304, 341, 443}));
  EXPECT_EQ(tok512().encode("\xc3\xa9", true), (Ids{1, 410, 485}));  // é
  EXPECT_EQ(tok512().encode("\xe6\x97\xa5\xe6\x9c\xac", true), (Ids{1, 410, 233, 154, 168, 233, 159, 175}));  // 日本
}

TEST(RuntimeTokenizer, DecodeStripsTheSpaceAfterBosAndMapsBytePieces) {
  EXPECT_EQ(tok512().decode(Ids{1, 403, 407, 261, 378}), "Once upon a time");
  EXPECT_EQ(tok512().decode(Ids{403, 407}), " Once upon");
  EXPECT_EQ(tok512().decode(Ids{1, 410, 233, 154, 168, 233, 159, 175}), "\xe6\x97\xa5\xe6\x9c\xac");
  EXPECT_EQ(tok512().decode_piece(-1, 3 + 'A'), "A");
  EXPECT_THROW(tok512().decode(Ids{512}), Error);
  EXPECT_THROW(tok512().decode(Ids{-1}), Error);
}

TEST(RuntimeTokenizer, RejectsTruncatedAndMissingFiles) {
  EXPECT_THROW(Tokenizer("/nonexistent/tok.bin"), Error);
  std::ifstream in(PTE_TEST_TOKENIZER, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t keep : {size_t{0}, size_t{3}, size_t{10}, bytes.size() - 1}) {
    std::string path = testing::temp_file("tok.bin");
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(keep));
    EXPECT_THROW(Tokenizer{path}, Error) << "truncated to " << keep;
  }
  std::string huge = bytes.substr(0, 12);
  huge[8] = '\x7f';  // first token length 0x7f.. : far beyond the file
  huge[11] = '\x7f';
  std::string path = testing::temp_file("tok.bin");
  std::ofstream(path, std::ios::binary).write(huge.data(), static_cast<std::streamsize>(huge.size()));
  EXPECT_THROW(Tokenizer{path}, Error);
}

}  // namespace
}  // namespace pte::runtime
