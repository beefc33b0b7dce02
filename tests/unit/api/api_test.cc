// The embedding API (api/include/pte): results and errors as values, never exceptions, on the
// tiny programs of tests/unit/runtime; generation against the runner it wraps.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

#include "pte/generator.h"
#include "pte/program.h"
#include "runner/runner.h"
#include "runtime-load/loaded_program.h"
#include "tests/unit/runtime/tiny_programs.h"

namespace {

std::string tiny_lm_file(const std::string& name) {
  const std::string path = pte::testing::temp_file(name);
  pte::testing::tiny_lm().write(path);
  return path;
}

TEST(Api, OpenReportsAMissingFileAsAStatus) {
  pte::Result<pte::Program> p = pte::Program::open("/nonexistent/model.pte");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), pte::ErrorCode::InvalidInput);
  EXPECT_NE(p.status().message().find("/nonexistent/model.pte"), std::string::npos) << p.status().message();
}

TEST(Api, OpenRejectsACorruptFile) {
  const std::string path = tiny_lm_file("api_corrupt.pte");
  std::vector<char> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[100] ^= 0x5a;  // inside the flatbuffer: the container digest no longer matches
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  pte::Result<pte::Program> p = pte::Program::open(path);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), pte::ErrorCode::InvalidInput);
}

TEST(Api, ListsMethodsBlobsAndMetadata) {
  pte::Result<pte::Program> p = pte::Program::open(tiny_lm_file("api_list.pte"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->format_version(), 2u);
  EXPECT_EQ(p->container_sha256().size(), 64u);
  std::vector<pte::MethodInfo> methods = p->methods();
  ASSERT_EQ(methods.size(), 1u);
  EXPECT_EQ(methods[0].name, "forward");
  EXPECT_EQ(methods[0].role, "full");
  ASSERT_GE(methods[0].inputs.size(), 4u);
  EXPECT_EQ(methods[0].inputs[0].name, "tokens");
  EXPECT_EQ(methods[0].inputs[0].dtype, "int32");
  EXPECT_EQ(methods[0].inputs[0].role, "tokens");
  EXPECT_EQ(methods[0].outputs[0].role, "logits");
  std::vector<pte::BlobInfo> blobs = p->blobs();
  ASSERT_FALSE(blobs.empty());
  for (const pte::BlobInfo& b : blobs) EXPECT_EQ(b.sha256.size(), 64u) << b.key;
  EXPECT_TRUE(p->verify_hashes().ok());

  pte::Result<std::vector<int64_t>> vocab = p->metadata_ints("vocab_size");
  ASSERT_TRUE(vocab.ok()) << vocab.status().message();
  EXPECT_EQ(*vocab, std::vector<int64_t>{12});
  EXPECT_EQ(p->metadata_text("vocab_size").status().code(), pte::ErrorCode::InvalidArgument);
  EXPECT_EQ(p->metadata_ints("no.such.key").status().code(), pte::ErrorCode::NotFound);
  bool listed = false;
  for (const pte::MetadataInfo& m : p->metadata()) listed |= m.key == "vocab_size" && m.kind == pte::MetadataKind::Ints;
  EXPECT_TRUE(listed);
}

TEST(Api, GeneratesTheReferenceExecutorsGreedyTokens) {
  const std::string path = tiny_lm_file("api_generate.pte");
  pte::Result<pte::Program> p = pte::Program::open(path);
  ASSERT_TRUE(p.ok());
  pte::Result<pte::Generator> g = pte::Generator::create(*p);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_FALSE(g->has_tokenizer());
  EXPECT_EQ(g->vocab_size(), 12);
  const std::vector<int32_t> prompt = {1, 5, 7, 2, 9, 3};  // two calls of T = 4
  pte::GenerationConfig config;
  config.max_new_tokens = 8;
  config.stop_at_eos = false;
  std::vector<int32_t> seen;
  pte::Result<pte::Generation> out =
      g->generate(std::span<const int32_t>(prompt), config, [&](int32_t t, std::string_view) {
        seen.push_back(t);
        return true;
      });
  ASSERT_TRUE(out.ok()) << out.status().message();

  // The API runs the fast executor; the expected tokens come from the reference executor.
  pte::runtime::LoadedProgram program(path);
  pte::runtime::Runner runner(program, "forward",
                              pte::runtime::ExecutorOptions{.kind = pte::runtime::ExecutorKind::Reference,
                                                            .threads = 0, .cpu_variant = {}});
  pte::runtime::GenerateOptions options;
  options.max_new_tokens = 8;
  EXPECT_EQ(out->tokens, runner.generate(prompt, options).tokens);
  EXPECT_EQ(seen, out->tokens);
  EXPECT_EQ(out->prompt_tokens, prompt);
  EXPECT_EQ(out->stop_reason, "max_new_tokens");
  EXPECT_EQ(out->stats.prompt_tokens, prompt.size());
  EXPECT_EQ(out->stats.generated_tokens, 8u);
  EXPECT_GT(out->stats.peak_memory_bytes, 0u);
}

TEST(Api, TheCallbackStopsGeneration) {
  pte::Result<pte::Program> p = pte::Program::open(tiny_lm_file("api_stop.pte"));
  ASSERT_TRUE(p.ok());
  pte::Result<pte::Generator> g = pte::Generator::create(*p);
  ASSERT_TRUE(g.ok());
  const std::vector<int32_t> prompt = {1, 5};
  int calls = 0;
  pte::Result<pte::Generation> out = g->generate(std::span<const int32_t>(prompt), {},
                                                 [&](int32_t, std::string_view) { return ++calls < 3; });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->tokens.size(), 3u);
  EXPECT_EQ(out->stop_reason, "callback");
}

TEST(Api, NoExceptionCrossesTheBoundary) {
  pte::Result<pte::Program> p = pte::Program::open(tiny_lm_file("api_errors.pte"));
  ASSERT_TRUE(p.ok());
  pte::GeneratorOptions unknown_method, unknown_executor;
  unknown_method.method = "nope";
  unknown_executor.executor = "gpu";
  EXPECT_EQ(pte::Generator::create(*p, unknown_method).status().code(), pte::ErrorCode::NotFound);
  EXPECT_FALSE(pte::Generator::create(*p, unknown_executor).ok());
  pte::Result<pte::Generator> g = pte::Generator::create(*p);
  ASSERT_TRUE(g.ok());
  const std::vector<int32_t> empty, outside = {1, 12};
  EXPECT_EQ(g->generate(std::span<const int32_t>(empty)).status().code(), pte::ErrorCode::InvalidArgument);
  EXPECT_EQ(g->generate(std::span<const int32_t>(outside)).status().code(), pte::ErrorCode::InvalidArgument);
  EXPECT_EQ(g->generate(std::string_view("text")).status().code(), pte::ErrorCode::InvalidArgument);  // no tokenizer
  const std::vector<int32_t> prompt = {1, 5};
  pte::Result<pte::Generation> thrown = pte::Generation{};
  EXPECT_NO_THROW(thrown = g->generate(std::span<const int32_t>(prompt), {}, [](int32_t, std::string_view) -> bool {
    throw std::runtime_error("callback failed");
  }));
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.status().code(), pte::ErrorCode::Internal);
  EXPECT_EQ(thrown.status().message(), "callback failed");
  // The generator is still usable after a failed call.
  EXPECT_TRUE(g->generate(std::span<const int32_t>(prompt)).ok());
}

}  // namespace
