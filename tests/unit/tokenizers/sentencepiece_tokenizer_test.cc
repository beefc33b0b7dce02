// SentencePiece models are checked against the Python library in tests/parity; here: what is
// not a model is refused with the file's name.
#include <gtest/gtest.h>

#include "common/error.h"
#include "tokenizers/sentencepiece_tokenizer.h"

namespace pte::tokenizers {
namespace {

TEST(SentencePieceTokenizer, RejectsBytesThatAreNotAModel) {
  try {
    SentencePieceTokenizer(std::string("\x0a\x05garbage-that-is-not-a-proto"), "sp.model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("sp.model: not a valid SentencePiece model", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace pte::tokenizers
