// tokenizer.json: a tiny hand-made byte-level BPE with hand-computed ids, and every kind of
// refused file (the full pipelines are checked against the Hugging Face library in
// tests/parity).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tokenizers/hf_tokenizer.h"

namespace pte::tokenizers {
namespace {

using Ids = std::vector<int32_t>;
using Json = nlohmann::json;

// Vocabulary: 0 "h", 1 "e", 2 "l", 3 "o", 4 "Ġ" (space), 5 "he", 6 "ll", 7 "hell", 8 "Ġh",
// added 9 "<|end|>"; merges in that order.
Json tiny() {
  return Json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 9, "content": "<|end|>", "special": true, "lstrip": false, "rstrip": false,
                      "normalized": false, "single_word": false}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|end|>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}], "pair": [],
                       "special_tokens": {"<|end|>": {"id": "<|end|>", "ids": [9], "tokens": ["<|end|>"]}}},
    "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
              "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
              "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "he": 5, "ll": 6, "hell": 7, "Ġh": 8},
              "merges": ["h e", "l l", "he ll", "Ġ h"]}
  })");
}

std::string error_of(const Json& j) {
  try {
    HfTokenizer t(j.dump(), "tok.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(HfTokenizer, ByteLevelBpeWithAddedTokens) {
  HfTokenizer t(tiny().dump(), "tok.json");
  EXPECT_EQ(t.vocab_size(), 10u);
  EXPECT_EQ(t.encode("hello"), (Ids{7, 3}));
  EXPECT_EQ(t.encode("hello hello"), (Ids{7, 3, 4, 7, 3}));  // " hello": he (rank 0) beats Ġh (rank 3)
  EXPECT_EQ(t.encode("he<|end|>"), (Ids{5, 9}));
  EXPECT_EQ(t.encode(" h"), (Ids{8}));
  EXPECT_EQ(t.decode(Ids{7, 3, 8, 1, 6, 3, 9}), "hello hello<|end|>");
  EXPECT_EQ(t.special_tokens().bos, 9);
  EXPECT_EQ(t.token_id("<|end|>"), 9);
  // A long piece merges in O(n log n): 100,000 l's are 50,000 "ll".
  EXPECT_EQ(t.encode(std::string(100000, 'l')), Ids(50000, 6));
  EXPECT_EQ(t.encode("lllhell"), (Ids{6, 2, 7}));  // he (0), then ll from the left, then he+ll
  EXPECT_THROW(t.encode("x"), Error);  // no token, no byte fallback, no unk: never a guess
  EXPECT_THROW(t.encode("\xff"), Error);  // not UTF-8
}

TEST(HfTokenizer, UnsupportedComponentsAreErrorsNamingThem) {
  Json j = tiny();
  j["model"]["type"] = "Unigram";
  EXPECT_NE(error_of(j).find("tok.json: model Unigram: model type 'Unigram' is not supported"), std::string::npos);
  j = tiny();
  j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  EXPECT_NE(error_of(j).find("pre-tokenizer type 'BertPreTokenizer' is not supported"), std::string::npos);
  j = tiny();
  j["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_NE(error_of(j).find("normalizer type 'Lowercase' is not supported"), std::string::npos);
  j = tiny();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_NE(error_of(j).find("decoder type 'WordPiece' is not supported"), std::string::npos);
  j = tiny();
  j["post_processor"] = {{"type", "BertProcessing"}};
  EXPECT_NE(error_of(j).find("post-processor type 'BertProcessing' is not supported"), std::string::npos);
}

TEST(HfTokenizer, MalformedFilesAreErrors) {
  Json j = tiny();
  j["model"]["merges"].push_back("l q");
  EXPECT_EQ(error_of(j), "tok.json: model BPE: merge 4 \"l q\" names 'q', which is not in the vocabulary");
  j = tiny();
  j["model"]["merges"].push_back("o o");  // "oo" is not a token
  EXPECT_NE(error_of(j).find("names 'oo'"), std::string::npos);
  j = tiny();
  j["model"]["vocab"]["x"] = 3;
  EXPECT_NE(error_of(j).find("vocab id 3 is given to both"), std::string::npos);
  EXPECT_NE(error_of(Json::array()).find("tok.json: expected a tokenizer.json object"), std::string::npos);
  const std::string text = tiny().dump();
  EXPECT_THROW(HfTokenizer(text.substr(0, text.size() / 2), "tok.json"), Error);  // truncated
  j = tiny();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(error_of(j).find("split pattern does not compile"), std::string::npos);
}

// Found by fuzz_tokenizer: one vocab id of 65,444,444 made the id table take gigabytes.
TEST(HfTokenizer, SparseHugeIdsAreRefused) {
  Json j = tiny();
  j["model"]["vocab"]["o"] = 65444444;
  EXPECT_EQ(error_of(j), "tok.json: model BPE: vocab entry 'o' has id 65444444, but the file defines only 10 tokens "
                         "(ids must be below that)");
  j = tiny();
  j["added_tokens"][0]["id"] = 1000000;
  EXPECT_NE(error_of(j).find("has id 1000000, but the file defines only 10 tokens"), std::string::npos) << error_of(j);
  EXPECT_EQ(error_of(tiny()), "");  // ids 0..9 of 10 tokens
}

}  // namespace
}  // namespace pte::tokenizers
