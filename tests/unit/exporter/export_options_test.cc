#include "exporter/program/export_options.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace pte {
namespace {

TEST(ExportOptions, ParsesEmbeddingQuantization) {
  auto q = parse_embedding_quantize("8,0");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->bits, 8);
  EXPECT_EQ(q->group, 0);
  q = parse_embedding_quantize("4,32");
  EXPECT_EQ(q->bits, 4);
  EXPECT_EQ(q->group, 32);
  EXPECT_FALSE(parse_embedding_quantize("none").has_value());
}

TEST(ExportOptions, RejectsMalformedEmbeddingQuantization) {
  for (const char* bad : {"8", "3,0", "8,-1", "x,0", "8,0,1", ""}) {
    try {
      parse_embedding_quantize(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("embedding_quantize"), std::string::npos) << e.what();
    }
  }
}

TEST(ExportOptions, ParsesLinearQuantization) {
  EXPECT_EQ(parse_linear_quantize("c4w"), LinearQuantization::C4W);
  EXPECT_EQ(parse_linear_quantize("b4w"), LinearQuantization::B4W);
  EXPECT_EQ(parse_linear_quantize("none"), LinearQuantization::None);
  EXPECT_THROW(parse_linear_quantize("c8w"), Error);
}

TEST(ExportOptions, ParsesQuantOverrides) {
  QuantOverride o = parse_quant_override("layers.0.*=none");
  EXPECT_EQ(o.pattern, "layers.0.*");
  EXPECT_EQ(o.mode, LinearQuantization::None);
  EXPECT_EQ(parse_quant_override("output=c8w").mode, LinearQuantization::C8W);
  EXPECT_EQ(parse_quant_override("*.feed_forward.w2=b4w").mode, LinearQuantization::B4W);
  for (const char* bad : {"output", "=c4w", "output=c2w", "output="}) EXPECT_THROW(parse_quant_override(bad), Error) << bad;
  EXPECT_EQ(parse_quant_search("mse"), QuantSearch::Mse);
  EXPECT_EQ(parse_quant_search("none"), QuantSearch::None);
  EXPECT_EQ(parse_quant_search("gptq"), QuantSearch::Gptq);
  EXPECT_THROW(parse_quant_search("awq"), Error);
}

TEST(ExportOptions, GlobMatchesWholeModuleNames) {
  EXPECT_TRUE(glob_match("output", "output"));
  EXPECT_FALSE(glob_match("output", "output2"));
  EXPECT_TRUE(glob_match("layers.0.*", "layers.0.attention.wq"));
  EXPECT_FALSE(glob_match("layers.0.*", "layers.10.attention.wq"));
  EXPECT_TRUE(glob_match("*.feed_forward.w2", "layers.3.feed_forward.w2"));
  EXPECT_FALSE(glob_match("*.feed_forward.w2", "layers.3.feed_forward.w3"));
  EXPECT_TRUE(glob_match("layers.?.attention.w?", "layers.7.attention.wk"));
  EXPECT_TRUE(glob_match("*", "output"));
  EXPECT_TRUE(glob_match("**w*1", "layers.1.feed_forward.w1"));
  EXPECT_FALSE(glob_match("", "output"));
}

TEST(ExportOptions, CalibrationNeedsTheSearch) {
  ExportOptions o;
  o.calibration = "calibration.txt";
  EXPECT_THROW(validate_options(o), Error);
  o.quant_search = QuantSearch::Mse;
  EXPECT_NO_THROW(validate_options(o));
  o.quant_search = QuantSearch::Gptq;
  EXPECT_NO_THROW(validate_options(o));
  o.calibration.clear();
  EXPECT_THROW(validate_options(o), Error);  // gptq needs calibration
}

ExportOptions float_options() {
  ExportOptions o;
  o.embedding_quantize = std::nullopt;
  o.linear_quantize = LinearQuantization::None;
  return o;
}

void expect_error_containing(const ExportOptions& o, const std::string& text) {
  try {
    validate_options(o);
    FAIL() << "no error, expected one containing '" << text << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

TEST(ExportOptions, TheReferenceDefaultsAndEveryModeAreAccepted) {
  ExportOptions o;
  EXPECT_NO_THROW(validate_options(o));
  o.multifunction = true;
  o.adapters.push_back({"a", "b", "c"});
  EXPECT_NO_THROW(validate_options(o));
  o.blocks_per_piece = 2;
  o.graph_breaks = false;
  expect_error_containing(o, "--blocks_per_piece");
}

TEST(ExportOptions, RejectsInconsistentLengths) {
  ExportOptions o = float_options();
  o.max_context_len = 32;
  o.input_len = 32;
  expect_error_containing(o, "--max_context_len (32) must be larger than --input_len (32)");
  o = float_options();
  o.input_len = 0;
  expect_error_containing(o, "--input_len");
}

}  // namespace
}  // namespace pte
