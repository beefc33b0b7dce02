#include "exporter/checkpoint/model_params.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_files.h"

namespace pte {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

ModelParams params(const std::string& name, const std::string& json) {
  return read_model_params(test::write_scratch(name, json));
}

std::string params_error(const std::string& name, const std::string& json) {
  return test::error_of([&] { params(name, json); });
}

TEST(ModelParams, Llama2DefaultsAndHiddenDimRule) {
  // Llama 2 7B's params.json.
  const ModelParams p = params("llama2.json", R"({"dim": 4096, "multiple_of": 256, "n_heads": 32,
      "n_layers": 32, "norm_eps": 1e-05, "vocab_size": -1})");
  EXPECT_EQ(p.dim, 4096);
  EXPECT_EQ(p.n_layers, 32);
  EXPECT_EQ(p.n_heads, 32);
  EXPECT_EQ(p.n_kv_heads, 32);
  EXPECT_EQ(p.head_dim, 128);
  EXPECT_EQ(p.hidden_dim, 11008);
  EXPECT_EQ(p.vocab_size, -1);
  EXPECT_FALSE(p.ffn_dim_multiplier.has_value());
  EXPECT_EQ(p.norm_eps, 1e-5);
  EXPECT_EQ(p.rope_theta, 10000.0);
  EXPECT_FALSE(p.use_scaled_rope);
  EXPECT_EQ(p.rope_scale_factor, 8.0);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(ModelParams, Llama32OneB) {
  const ModelParams p = params("llama32.json", R"({"dim": 2048, "ffn_dim_multiplier": 1.5,
      "multiple_of": 256, "n_heads": 32, "n_kv_heads": 8, "n_layers": 16, "norm_eps": 1e-05,
      "rope_theta": 500000.0, "use_scaled_rope": true, "vocab_size": 128256})");
  EXPECT_EQ(p.hidden_dim, 8192);
  EXPECT_EQ(p.head_dim, 64);
  EXPECT_EQ(p.n_kv_heads, 8);
  EXPECT_EQ(p.vocab_size, 128256);
  EXPECT_EQ(p.ffn_dim_multiplier, 1.5);
  EXPECT_EQ(p.rope_theta, 500000.0);
  EXPECT_TRUE(p.use_scaled_rope);
}

TEST(ModelParams, HiddenDimRuleSmallModels) {
  // int(2 * 4 * 64 / 3) = 170, rounded up to a multiple of 4.
  EXPECT_EQ(params("small.json", R"({"dim": 64, "n_layers": 5, "n_heads": 8, "multiple_of": 4})")
                .hidden_dim,
            172);
  // 288: int(768) = 768, multiple of 32 already.
  EXPECT_EQ(params("s15m.json", R"({"dim": 288, "n_layers": 6, "n_heads": 6, "multiple_of": 32})")
                .hidden_dim,
            768);
  // Given hidden_dim and head_dim win over the rules.
  const ModelParams p =
      params("given.json",
             R"({"dim": 100, "n_layers": 1, "n_heads": 3, "head_dim": 32, "hidden_dim": 300})");
  EXPECT_EQ(p.hidden_dim, 300);
  EXPECT_EQ(p.head_dim, 32);
}

TEST(ModelParams, NullMeansAbsent) {
  const ModelParams p = params(
      "null.json",
      R"({"dim": 4096, "n_layers": 2, "n_heads": 32, "n_kv_heads": null, "ffn_dim_multiplier": null})");
  EXPECT_EQ(p.n_kv_heads, 32);
  EXPECT_FALSE(p.ffn_dim_multiplier.has_value());
}

TEST(ModelParams, MissingRequiredField) {
  const std::string message = params_error("nodim.json", R"({"n_layers": 2, "n_heads": 4})");
  EXPECT_CONTAINS(message, "nodim.json");
  EXPECT_CONTAINS(message, "field 'dim' is required");
}

TEST(ModelParams, WrongTypes) {
  EXPECT_CONTAINS(params_error("str.json", R"({"dim": "4096", "n_layers": 2, "n_heads": 4})"),
                  "field 'dim' must be an integer, found \"4096\"");
  EXPECT_CONTAINS(params_error("float.json", R"({"dim": 4096.0, "n_layers": 2, "n_heads": 4})"),
                  "field 'dim' must be an integer");
  EXPECT_CONTAINS(params_error("bool.json",
                               R"({"dim": 64, "n_layers": 2, "n_heads": 4, "use_scaled_rope": 1})"),
                  "field 'use_scaled_rope' must be true or false");
  EXPECT_CONTAINS(
      params_error("eps.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "norm_eps": "small"})"),
      "field 'norm_eps' must be a number");
}

TEST(ModelParams, InvalidValues) {
  EXPECT_CONTAINS(params_error("neg.json", R"({"dim": 64, "n_layers": -2, "n_heads": 4})"),
                  "field 'n_layers' must be positive");
  EXPECT_CONTAINS(
      params_error("gqa.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 3})"),
      "field 'n_kv_heads' is 3, which does not divide n_heads 4");
  EXPECT_CONTAINS(params_error("div.json", R"({"dim": 65, "n_layers": 2, "n_heads": 4})"),
                  "not divisible by n_heads");
  EXPECT_CONTAINS(params_error("array.json", "[1, 2]"), "expected a JSON object");
  EXPECT_CONTAINS(params_error("broken.json", "{\"dim\": "), "not valid JSON");
}

TEST(ModelParams, UnknownFieldsWarnKnownRuntimeFieldsDoNot) {
  const ModelParams p = params(
      "extra.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "max_seq_len": 2048, "foo": 1})");
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_CONTAINS(p.warnings[0], "unknown field 'foo' ignored");
}

TEST(ModelParams, DeepNestingIsRefusedWithoutCrashing) {
  std::string json = "{\"dim\": 8, \"x\": ";
  for (int i = 0; i < 100000; ++i) json += "{\"r\":";
  json += "1";
  for (int i = 0; i < 100000; ++i) json += '}';
  json += '}';
  EXPECT_CONTAINS(params_error("deep.json", json), "deep.json: JSON nested deeper than 64 levels");
}

TEST(ModelParams, DuplicateFieldsAreRefused) {
  EXPECT_CONTAINS(params_error("dup.json", R"({"dim": 8, "n_layers": 1, "n_heads": 2, "dim": 16})"),
                  "dup.json: key 'dim' appears twice in one JSON object");
}

TEST(ModelParams, ManyUnknownFieldsGiveCappedWarnings) {
  std::string json = R"({"dim": 8, "n_layers": 1, "n_heads": 2)";
  for (int i = 0; i < 80000; ++i) json += ",\"u" + std::to_string(i) + "\": 0";
  json += '}';
  const ModelParams p = params("many.json", json);
  ASSERT_EQ(p.warnings.size(), 21u);
  EXPECT_CONTAINS(p.warnings[0], "unknown field 'u0' ignored");
  EXPECT_CONTAINS(p.warnings[20], "... and 79980 more unknown fields of");
}

TEST(ModelParams, AFifoIsRefusedWithoutBlocking) {
  const std::string fifo = ::testing::TempDir() + "/params_fifo.json";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(test::error_of([&] { read_model_params(fifo); }), fifo + ": expected a regular file, found a FIFO");
  ::unlink(fifo.c_str());
}

}  // namespace
}  // namespace pte

namespace pte {
namespace {

TEST(ModelParams, ScaledRopeWithoutFactorWarnsAndUsesTheReferenceDefault) {
  const ModelParams p = params("scaled.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "use_scaled_rope": true})");
  EXPECT_EQ(p.rope_scale_factor, 8.0);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_CONTAINS(p.warnings[0], "rope_scale_factor is absent");
  EXPECT_CONTAINS(p.warnings[0], "32");
  const ModelParams given = params(
      "scaled32.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "use_scaled_rope": true, "rope_scale_factor": 32})");
  EXPECT_EQ(given.rope_scale_factor, 32.0);
  EXPECT_TRUE(given.warnings.empty());
}

TEST(ModelParams, RopeFreqBaseIsAnAliasOfRopeTheta) {
  EXPECT_EQ(params("base.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "rope_freq_base": 500000})").rope_theta,
            500000.0);
  EXPECT_EQ(params("both.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "rope_freq_base": 5e5, "rope_theta": 500000})")
                .rope_theta,
            500000.0);
  EXPECT_CONTAINS(params_error("differ.json",
                               R"({"dim": 64, "n_layers": 2, "n_heads": 4, "rope_freq_base": 1e4, "rope_theta": 5e5})"),
                  "field 'rope_freq_base' is 10000.0 but rope_theta is 500000.0");
}

TEST(ModelParams, BosAndEosIdsAreKept) {
  const ModelParams p = params("ids.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "bos_idx": 1, "eos_idx": 2})");
  EXPECT_EQ(p.bos_idx, 1);
  EXPECT_EQ(p.eos_idx, 2);
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_CONTAINS(params_error("neg.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "bos_idx": -1})"),
                  "field 'bos_idx' must be a token id");
}

}  // namespace
}  // namespace pte
