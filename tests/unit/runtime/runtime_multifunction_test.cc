// Multifunction files and adapters: a prefill/decode pair sharing caches must give exactly the
// logits a Full method of the same weights gives at the same positions (fp32), single tokens
// go to decode, and runners are selected by base or adapter name.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "runner/runner.h"
#include "tests/unit/runtime/tiny_programs.h"

namespace pte::runtime {
namespace {

using testing::tiny_lm;
using testing::TinyLmOptions;
constexpr size_t kVocab = 12;
constexpr int64_t kT = 4;

struct Loaded {
  explicit Loaded(const TinyLmOptions& o) : path(testing::temp_file("tiny_lm.pte")) {
    tiny_lm(o).write(path);
    program = std::make_unique<LoadedProgram>(path);
  }
  std::string path;
  std::unique_ptr<LoadedProgram> program;
};

TinyLmOptions options(bool multifunction, std::vector<std::string> adapters = {}) {
  TinyLmOptions o;
  o.input_len = kT;
  o.multifunction = multifunction;
  o.adapters = std::move(adapters);
  return o;
}

std::vector<float> last_row(const std::vector<float>& rows) {
  return std::vector<float>(rows.end() - static_cast<ptrdiff_t>(kVocab), rows.end());
}

// Feeds `prompt` in chunks of T, then `decode` single tokens; returns the logits row of the
// last real token of every call.
std::vector<std::vector<float>> last_rows(Runner& r, const std::vector<int32_t>& prompt,
                                          const std::vector<int32_t>& decode) {
  std::vector<std::vector<float>> out;
  for (size_t begin = 0; begin < prompt.size(); begin += kT) {
    size_t n = std::min<size_t>(kT, prompt.size() - begin);
    out.push_back(last_row(r.step(std::span<const int32_t>(prompt.data() + begin, n))));
  }
  for (int32_t t : decode) out.push_back(last_row(r.step(std::span<const int32_t>(&t, 1))));
  return out;
}

TEST(RuntimeMultifunction, PairLayoutsShareOneCache) {
  Loaded pair(options(true));
  Runner r(*pair.program, "forward");
  EXPECT_TRUE(r.is_pair());
  EXPECT_EQ(r.method_names(), (std::vector<std::string>{"prefill", "forward"}));
  EXPECT_EQ(r.layout().input_len, kT);
  EXPECT_EQ(r.layout().cache_len, 23);
  EXPECT_EQ(r.layout().logits_rows, 1);
  ASSERT_NE(r.decode_layout(), nullptr);
  EXPECT_EQ(r.decode_layout()->input_len, 1);
  EXPECT_EQ(r.decode_layout()->cache_len, 23);
  EXPECT_EQ(r.decode_layout()->last_pos_input, std::optional<size_t>(8));  // 4 + 2L
  EXPECT_EQ(r.k_cache(1).shape, (Shape{1, 1, 23, 2}));

  Loaded full(options(false));
  Runner f(*full.program);
  EXPECT_FALSE(f.is_pair());
  EXPECT_EQ(f.decode_layout(), nullptr);
  EXPECT_EQ(f.layout().logits_rows, kT);
  EXPECT_FALSE(f.layout().last_pos_input.has_value());
}

// 2T + 1 tokens: chunks T, T, 1 -- the last single token goes to decode, not to a padded prefill.
TEST(RuntimeMultifunction, PairMatchesFullWhenTheLastChunkIsOneToken) {
  Loaded pair(options(true)), full(options(false));
  Runner p(*pair.program, "forward"), f(*full.program, "forward");
  const std::vector<int32_t> prompt = {1, 5, 9, 2, 11, 0, 7, 3, 4};  // 2T + 1
  const std::vector<int32_t> decode = {6, 10, 8, 2, 5};

  p.step(std::span<const int32_t>(prompt.data(), kT));
  EXPECT_EQ(p.last_method(), "prefill");
  p.reset();
  EXPECT_EQ(p.last_method(), "");
  const size_t prefill_before = p.calls("prefill"), decode_before = p.calls("forward");

  auto want = last_rows(f, prompt, {});
  auto got = last_rows(p, prompt, {});
  EXPECT_EQ(p.calls("prefill") - prefill_before, 2u);
  EXPECT_EQ(p.calls("forward") - decode_before, 1u) << "the 1-token last chunk must go to decode";
  EXPECT_EQ(p.last_method(), "forward");
  EXPECT_EQ(p.position(), 9);

  auto want_decode = last_rows(f, {}, decode);
  auto got_decode = last_rows(p, {}, decode);
  EXPECT_EQ(p.calls("forward") - decode_before, 1u + decode.size());
  want.insert(want.end(), want_decode.begin(), want_decode.end());
  got.insert(got.end(), got_decode.begin(), got_decode.end());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "call " << i;  // bit-exact
}

// 2T + 3 tokens: chunks T, T, 3 -- the partial chunk goes to prefill with last_valid_token_pos 2.
TEST(RuntimeMultifunction, PairMatchesFullWhenTheLastChunkIsPartial) {
  Loaded pair(options(true)), full(options(false));
  Runner p(*pair.program, "forward"), f(*full.program, "forward");
  const std::vector<int32_t> prompt = {1, 5, 9, 2, 11, 0, 7, 3, 4, 8, 6};  // 2T + 3
  const std::vector<int32_t> decode = {10, 2, 2, 9};
  auto want = last_rows(f, prompt, decode);
  auto got = last_rows(p, prompt, decode);
  EXPECT_EQ(p.calls("prefill"), 3u);
  EXPECT_EQ(p.calls("forward"), decode.size());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "call " << i;
  // The caches hold the same rotated keys and values at the same positions.
  for (size_t l = 0; l < 2; ++l)
    for (size_t s = 0; s < 15 * 2; ++s) {
      EXPECT_EQ(p.k_cache(l).floats[s], f.k_cache(l).floats[s]) << "layer " << l << " element " << s;
      EXPECT_EQ(p.v_cache(l).floats[s], f.v_cache(l).floats[s]) << "layer " << l << " element " << s;
    }
}

TEST(RuntimeMultifunction, GenerateWithAPairMatchesFull) {
  Loaded pair(options(true)), full(options(false));
  Runner p(*pair.program, "forward"), f(*full.program, "forward");
  GenerateOptions o;
  o.max_new_tokens = 6;
  for (size_t length : {1u, 3u, 4u, 9u, 11u}) {
    std::vector<int32_t> prompt;
    for (size_t i = 0; i < length; ++i) prompt.push_back(static_cast<int32_t>((i * 7 + 3) % kVocab));
    Generation want = f.generate(prompt, o), got = p.generate(prompt, o);
    EXPECT_EQ(got.tokens, want.tokens) << "prompt of " << length;
    EXPECT_EQ(got.prefill_tokens, length);
  }
}

// keep_logits: a pair gives one row per call, so the prompt goes token by token through decode.
TEST(RuntimeMultifunction, KeepLogitsFeedsThePromptThroughDecode) {
  Loaded pair(options(true)), full(options(false));
  Runner p(*pair.program, "forward"), f(*full.program, "forward");
  GenerateOptions o;
  o.max_new_tokens = 3;
  o.keep_logits = true;
  const std::vector<int32_t> prompt = {1, 5, 9, 2, 11, 0, 7};
  Generation want = f.generate(prompt, o), got = p.generate(prompt, o);
  EXPECT_EQ(p.calls("prefill"), 0u);
  EXPECT_EQ(p.calls("forward"), prompt.size() + 2);
  EXPECT_EQ(got.logits_rows, prompt.size() + 2);
  EXPECT_EQ(got.logits_rows, want.logits_rows);
  EXPECT_EQ(got.logits, want.logits);
  EXPECT_EQ(got.tokens, want.tokens);
}

TEST(RuntimeMultifunction, PairRejectsOversizedChunks) {
  Loaded pair(options(true));
  Runner p(*pair.program, "forward");
  EXPECT_THROW(p.step(std::vector<int32_t>{}), Error);
  EXPECT_THROW(p.step(std::vector<int32_t>{1, 2, 3, 4, 5}), Error);
}

TEST(RuntimeMultifunction, AdaptersAreSelectedByName) {
  Loaded single(options(false, {"alpaca", "chat"}));
  EXPECT_EQ(runnable_methods(*single.program).size(), 3u);
  Runner base(*single.program, "forward"), alpaca(*single.program, "alpaca"), chat(*single.program, "chat");
  EXPECT_EQ(alpaca.method_names(), (std::vector<std::string>{"alpaca"}));
  EXPECT_FALSE(alpaca.is_pair());
  const std::vector<int32_t> tokens = {3, 1, 4};
  auto b = base.step(tokens), a = alpaca.step(tokens), c = chat.step(tokens);
  EXPECT_NE(a, b) << "the adapter's delta was not applied";
  EXPECT_NE(a, c);

  Loaded multi(options(true, {"alpaca", "chat"}));
  std::vector<std::string> names;
  for (const RunnableMethod& m : runnable_methods(*multi.program)) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"forward", "alpaca", "chat"}));
  Runner pair(*multi.program, "alpaca");
  EXPECT_TRUE(pair.is_pair());
  EXPECT_EQ(pair.method_names(), (std::vector<std::string>{"alpaca_prefill", "alpaca_forward"}));
  // Same weights in both files: the adapter pair's last row equals the adapter Full method's.
  alpaca.reset();
  const std::vector<int32_t> prompt = {3, 1, 4, 1, 5, 9};
  EXPECT_EQ(last_rows(pair, prompt, {2}), last_rows(alpaca, prompt, {2}));
  EXPECT_EQ(pair.calls("alpaca_prefill"), 2u);
  EXPECT_EQ(pair.calls("alpaca_forward"), 1u);
  EXPECT_EQ(pair.calls("forward"), 0u);
}

std::string error_of(const LoadedProgram& program, const std::string& name) {
  try {
    Runner r(program, name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RuntimeMultifunction, UnknownNamesListWhatCanRun) {
  Loaded multi(options(true, {"alpaca"}));
  std::string e = error_of(*multi.program, "nope");
  EXPECT_NE(e.find(multi.path), std::string::npos) << e;
  EXPECT_NE(e.find("'nope'"), std::string::npos) << e;
  EXPECT_NE(e.find("runnable names: forward (prefill + forward), alpaca (alpaca_prefill + alpaca_forward)"),
            std::string::npos) << e;
  e = error_of(*multi.program, "prefill");
  EXPECT_NE(e.find("is a Prefill method"), std::string::npos) << e;
  e = error_of(*multi.program, "alpaca_forward");
  EXPECT_NE(e.find("is a Decode method"), std::string::npos) << e;

  Loaded single(options(false, {"alpaca"}));
  e = error_of(*single.program, "chat");
  EXPECT_NE(e.find("runnable names: forward, alpaca"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(RuntimeMultifunction, APairWhoseCachesDifferIsRejected) {
  TinyLmOptions o = options(true);
  o.decode_cache_len = 20;  // a consistent decode method, but not the prefill's cache
  Loaded bad(o);
  std::string e = error_of(*bad.program, "forward");
  EXPECT_NE(e.find("methods 'prefill' and 'forward' have cache_len 23 and 20"), std::string::npos) << e;
}

}  // namespace
}  // namespace pte::runtime
