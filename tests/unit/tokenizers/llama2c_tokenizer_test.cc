// The llama2.c tokenizer on tok512.bin (stories260K); expected ids from llama2.c's encode.
#include <gtest/gtest.h>

#include <cstring>

#include "common/error.h"
#include "tests/unit/tokenizers/test_files.h"
#include "tokenizers/llama2c_tokenizer.h"

namespace pte::tokenizers {
namespace {

using Ids = std::vector<int32_t>;

const Llama2cTokenizer& tok512() {
  static const std::string bytes = testing::read_file(PTE_TEST_TOKENIZER);
  static const Llama2cTokenizer t(bytes, PTE_TEST_TOKENIZER);
  return t;
}

Ids with_bos(Ids ids) {
  ids.insert(ids.begin(), Llama2cTokenizer::kBos);
  return ids;
}

// A llama2.c file of these pieces (score: minus the id, so that earlier pieces merge first).
std::string llama2c_file(const std::vector<std::string>& pieces) {
  std::string out(4, '\0');
  out[0] = 8;
  for (size_t i = 0; i < pieces.size(); ++i) {
    float score = -static_cast<float>(i);
    int32_t length = static_cast<int32_t>(pieces[i].size());
    out.append(reinterpret_cast<const char*>(&score), 4);
    out.append(reinterpret_cast<const char*>(&length), 4);
    out += pieces[i];
  }
  return out;
}

TEST(Llama2cTokenizer, EncodesOnceUponATimeLikeLlama2c) {
  EXPECT_EQ(tok512().vocab_size(), 512u);
  EXPECT_EQ(tok512().encode("Once upon a time"), (Ids{403, 407, 261, 378}));
  EXPECT_EQ(tok512().encode(""), Ids{});
  EXPECT_EQ(tok512().special_tokens().bos, 1);
  EXPECT_EQ(tok512().special_tokens().eos, Ids{2});
}

TEST(Llama2cTokenizer, FallsBackToBytesAndMerges) {
  EXPECT_EQ(tok512().encode("Hello, world!"), (Ids{346, 306, 414, 432, 263, 304, 341, 443}));
  EXPECT_EQ(tok512().encode("\xc3\xa9"), (Ids{410, 485}));  // é
  EXPECT_EQ(tok512().encode("\xe6\x97\xa5\xe6\x9c\xac"), (Ids{410, 233, 154, 168, 233, 159, 175}));  // 日本
}

TEST(Llama2cTokenizer, DecodeStripsTheSpaceAfterBosAndMapsBytePieces) {
  EXPECT_EQ(tok512().decode(Ids{1, 403, 407, 261, 378}), "Once upon a time");
  EXPECT_EQ(tok512().decode(Ids{403, 407}), " Once upon");
  EXPECT_EQ(tok512().decode(Ids{1, 410, 233, 154, 168, 233, 159, 175}), "\xe6\x97\xa5\xe6\x9c\xac");
  EXPECT_EQ(tok512().decode(Ids{3 + 'A'}), "A");
  EXPECT_EQ(tok512().decode(with_bos(tok512().encode("Hello, world!"))), "Hello, world!");
  EXPECT_THROW(tok512().decode(Ids{512}), Error);
  EXPECT_THROW(tok512().decode(Ids{-1}), Error);
}

TEST(Llama2cTokenizer, FallsBackOnlyToRealByteTokensElseUnk) {
  // <0xC3> and <0xA9> are not at byte + 3: the old guess would have picked 'a' and ' '.
  const Llama2cTokenizer t(llama2c_file({"<unk>", "<s>", "</s>", " ", "a", "<0xC3>", "<0xA9>"}), "mini.bin");
  EXPECT_EQ(t.encode("a\xc3\xa9"), (Ids{3, 4, 5, 6}));
  EXPECT_EQ(t.encode("\xe6\x97\xa5"), (Ids{3, 0, 0, 0}));  // no byte tokens for 日: <unk>
  EXPECT_EQ(t.decode(Ids{1, 3, 4, 5, 6}), "a\xc3\xa9");  // the space after BOS is dropped
  const Llama2cTokenizer no_unk(llama2c_file({"x", "<s>", "</s>", " "}), "nounk.bin");
  try {
    no_unk.encode("q");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nounk.bin: text byte 0x71"), std::string::npos) << e.what();
  }
}

TEST(Llama2cTokenizer, RejectsTruncatedFiles) {
  const std::string bytes = testing::read_file(PTE_TEST_TOKENIZER);
  for (size_t keep : {size_t{0}, size_t{3}, size_t{10}, bytes.size() - 1})
    EXPECT_THROW(Llama2cTokenizer(std::string_view(bytes).substr(0, keep), "t.bin"), Error) << "truncated to " << keep;
  std::string huge = bytes.substr(0, 12);
  huge[8] = '\x7f';  // first token length 0x7f.. : far beyond the file
  huge[11] = '\x7f';
  EXPECT_THROW(Llama2cTokenizer(huge, "t.bin"), Error);
}

}  // namespace
}  // namespace pte::tokenizers
