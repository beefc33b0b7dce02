// The runner protocol (SPEC §9) on the ring model of tiny_programs.h: T = 3, C = 5, M = 8.
// logits[0] of a row is the mean of the tokens that row can see, so each expectation below
// states which positions are visible.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "runner/runner.h"
#include "tests/unit/runtime/tiny_programs.h"

namespace pte::runtime {
namespace {

using testing::ring_model;
using testing::RingModelOptions;
constexpr int64_t kVocab = 16;

struct RingFixture {
  explicit RingFixture(RingModelOptions o = {}) : path(testing::temp_file("ring.pte")) {
    ring_model(o).write(path);
    program = std::make_unique<LoadedProgram>(path);
    runner = std::make_unique<Runner>(*program);
  }
  std::string path;
  std::unique_ptr<LoadedProgram> program;
  std::unique_ptr<Runner> runner;
};

// Checks logits[0] of each row (the mean of the visible tokens) and that logits[1] = 1.
void expect_means(const std::vector<float>& logits, const std::vector<float>& means) {
  ASSERT_EQ(logits.size(), means.size() * kVocab);
  for (size_t r = 0; r < means.size(); ++r) {
    EXPECT_NEAR(logits[r * kVocab], means[r], 1e-5) << "row " << r;
    EXPECT_NEAR(logits[r * kVocab + 1], 1.0f, 1e-6) << "softmax weights of row " << r << " do not sum to 1";
  }
}

// Cache slot `slot` of layer 0 as (k0, k1, v0, v1).
std::vector<float> slot(const Runner& r, size_t s) {
  const auto& k = r.k_cache(0).floats;
  const auto& v = r.v_cache(0).floats;
  return {k[2 * s], k[2 * s + 1], v[2 * s], v[2 * s + 1]};
}
// What the ring model stores for token t at position p.
std::vector<float> stored(float t, float p) { return {t * (10 + p), 10 + p, t, 1}; }

TEST(RuntimeRunner, LayoutComesFromMetadataAndIoSpecs) {
  RingFixture f;
  const RunnerLayout& l = f.runner->layout();
  EXPECT_EQ(l.input_len, 3);
  EXPECT_EQ(l.cache_len, 5);
  EXPECT_EQ(l.max_context_len, 8);
  EXPECT_EQ(l.vocab_size, kVocab);
  EXPECT_EQ(l.mask_input, 1u);
  ASSERT_EQ(l.layers.size(), 1u);
  EXPECT_EQ(l.layers[0].k_in, 4u);
  EXPECT_EQ(l.layers[0].v_out, 2u);
}

TEST(RuntimeRunner, CachePlacementMaskUnmaskingPaddingAndRingWrap) {
  RingFixture f;
  Runner& r = *f.runner;
  const float inf = std::numeric_limits<float>::infinity();
  // Fresh state: every cache column hidden, the chunk part causal.
  EXPECT_EQ(r.mask().floats[0], -inf);
  EXPECT_EQ(r.mask().floats[5], 0.0f);   // row 0, chunk column 0
  EXPECT_EQ(r.mask().floats[6], -inf);   // row 0, chunk column 1

  // Call 1: three real tokens at positions 0..2; row i sees chunk columns <= i.
  expect_means(r.step(std::vector<int32_t>{5, 6, 7}), {5, 5.5f, 6});
  EXPECT_EQ(r.position(), 3);
  EXPECT_EQ(slot(r, 0), stored(5, 0));
  EXPECT_EQ(slot(r, 1), stored(6, 1));
  EXPECT_EQ(slot(r, 2), stored(7, 2));
  EXPECT_EQ(slot(r, 3), (std::vector<float>{0, 0, 0, 0}));

  // Call 2: one real token, padded; it sees the three cached tokens and itself.
  expect_means(r.step(std::vector<int32_t>{8}), {6.5f});
  EXPECT_EQ(r.mask().floats[0 * 8 + 2], 0.0f);  // slots 0..2 were visible during the call
  EXPECT_EQ(r.mask().floats[0 * 8 + 3], -inf);
  EXPECT_EQ(slot(r, 3), stored(8, 3));
  EXPECT_EQ(slot(r, 4), (std::vector<float>{0, 0, 0, 0})) << "a padding position was written to the cache";

  // Call 3: positions 4 and 5 go to slots 4 and 0 (wrap).
  expect_means(r.step(std::vector<int32_t>{9, 10}), {7, 7.5f});
  EXPECT_EQ(slot(r, 4), stored(9, 4));
  EXPECT_EQ(slot(r, 0), stored(10, 5));
  EXPECT_EQ(slot(r, 1), stored(6, 1));

  // Call 4: all five slots visible (tokens 10, 6, 7, 8, 9) plus the new token 11.
  expect_means(r.step(std::vector<int32_t>{11}), {8.5f});
  EXPECT_EQ(slot(r, 1), stored(11, 6));

  // Position 7 is the last row of the RoPE tables; the padding rows past it are not an error.
  r.step(std::vector<int32_t>{12});
  EXPECT_EQ(slot(r, 2), stored(12, 7));
  EXPECT_EQ(r.position(), 8);
  EXPECT_THROW(r.step(std::vector<int32_t>{13}), Error);

  r.reset();
  EXPECT_EQ(r.position(), 0);
  EXPECT_EQ(slot(r, 2), (std::vector<float>{0, 0, 0, 0}));
  expect_means(r.step(std::vector<int32_t>{4}), {4});
}

TEST(RuntimeRunner, RejectsEmptyOrOversizedCalls) {
  RingFixture f;
  EXPECT_THROW(f.runner->step(std::vector<int32_t>{}), Error);
  EXPECT_THROW(f.runner->step(std::vector<int32_t>{1, 2, 3, 4}), Error);
  EXPECT_THROW(f.runner->step(std::vector<int32_t>{16}), Error);  // outside the vocabulary
}

TEST(RuntimeRunner, GeneratePrefillsInChunksAndFeedsBackTheArgmax) {
  RingFixture f;
  GenerateOptions o;
  o.max_new_tokens = 3;
  o.keep_logits = true;
  // Prompt of 4 tokens = chunks of 3 and 1. Row 3 sees all four (mean 6.5 > 1): argmax 0.
  Generation g = f.runner->generate(std::vector<int32_t>{5, 6, 7, 8}, o);
  EXPECT_EQ(g.tokens, (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(g.logits_rows, 4u + 3u - 1u);
  EXPECT_EQ(g.prefill_tokens, 4u);
  EXPECT_EQ(g.decode_calls, 2u);
  EXPECT_EQ(g.stop_reason, "max_new_tokens");
  // Rows: 5, 5.5, 6, 6.5, then the fed-back zeros: 26/5, 26/6.
  expect_means(g.logits, {5, 5.5f, 6, 6.5f, 5.2f, 26.0f / 6});
}

TEST(RuntimeRunner, ACallbackReturningFalseStopsAfterItsToken) {
  RingFixture f;
  GenerateOptions o;
  o.max_new_tokens = 5;
  std::vector<int32_t> seen;
  Generation g = f.runner->generate(std::vector<int32_t>{5, 6, 7, 8}, o, [&](int32_t t) {
    seen.push_back(t);
    return seen.size() < 2;
  });
  EXPECT_EQ(g.tokens, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(seen, g.tokens);
  EXPECT_EQ(g.stop_reason, "callback");
  EXPECT_EQ(g.decode_calls, 1u);
}

TEST(RuntimeRunner, ArgmaxTakesTheLowestIndexOnTies) {
  EXPECT_EQ(argmax(std::vector<float>{1, 3, 3, 2}), 1u);
  // Prompt [1]: logits[0] = mean 1 = logits[1]; the tie goes to token 0.
  RingFixture f;
  GenerateOptions o;
  o.max_new_tokens = 1;
  EXPECT_EQ(f.runner->generate(std::vector<int32_t>{1}, o).tokens, (std::vector<int32_t>{0}));
  // Prompt [0]: logits[1] = 1 is the largest.
  EXPECT_EQ(f.runner->generate(std::vector<int32_t>{0}, o).tokens, (std::vector<int32_t>{1}));
}

TEST(RuntimeRunner, GenerateStopsOnStopIdsZeroTokensAndAFullContext) {
  RingFixture f;
  GenerateOptions o;
  o.keep_logits = true;
  o.max_new_tokens = 5;
  o.stop_ids = {0};
  Generation g = f.runner->generate(std::vector<int32_t>{5, 6}, o);
  EXPECT_EQ(g.tokens, (std::vector<int32_t>{0}));
  EXPECT_EQ(g.stop_reason, "stop_id");
  EXPECT_EQ(g.logits_rows, 2u);

  o.stop_ids.clear();
  o.max_new_tokens = 0;
  g = f.runner->generate(std::vector<int32_t>{5, 6}, o);
  EXPECT_TRUE(g.tokens.empty());
  EXPECT_EQ(g.logits_rows, 2u);

  // 4 prompt tokens, 8 positions: 4 more tokens can be fed, so 5 are generated.
  o.max_new_tokens = 100;
  g = f.runner->generate(std::vector<int32_t>{5, 6, 7, 8}, o);
  EXPECT_EQ(g.tokens.size(), 5u);
  EXPECT_EQ(g.stop_reason, "context_full");
  EXPECT_EQ(g.logits_rows, 8u);

  EXPECT_THROW(f.runner->generate(std::vector<int32_t>{}, o), Error);
  EXPECT_THROW(f.runner->generate(std::vector<int32_t>(9, 1), o), Error);
}

TEST(RuntimeRunner, Fp16ModelRoundsActivations) {
  RingFixture f(RingModelOptions{DType::F16});
  // Mean of 5, 6, 7 = 6 exactly; k of token 7 at position 2 = 84 (exact in fp16).
  expect_means(f.runner->step(std::vector<int32_t>{5, 6, 7}), {5, 5.5f, 6});
  EXPECT_EQ(slot(*f.runner, 2), stored(7, 2));
  // Token 13 at position 3: mean (5+6+7+13)/4 = 7.75, exact; k = 13 * 13 = 169.
  expect_means(f.runner->step(std::vector<int32_t>{13}), {7.75f});
  EXPECT_EQ(slot(*f.runner, 3), stored(13, 3));
  for (float v : f.runner->k_cache(0).floats) EXPECT_EQ(v, round_to_dtype(DType::F16, v));
}

TEST(RuntimeRunner, RejectsAMethodThatDoesNotExist) {
  RingFixture f;
  EXPECT_THROW(Runner(*f.program, "prefill"), Error);
}

}  // namespace
}  // namespace pte::runtime
