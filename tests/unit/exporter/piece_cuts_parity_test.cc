// However a method is cut into pieces, the verifier computes the same logits, bit for bit.
#include <gtest/gtest.h>

#include "exporter/packer/pack.h"
#include "exporter/program/llama_builder.h"
#include "passes/pipeline.h"
#include "runtime-load/loaded_program.h"
#include "runner/runner.h"
#include "tiny_llama.h"

namespace pte {
namespace {

std::vector<float> logits_of(const testing::TinyLlamaFiles& f, const std::string& out, bool graph_breaks,
                             int64_t blocks_per_piece, int64_t target_split_size = 1024,
                             const LoraAdapter* adapter = nullptr) {
  ExportOptions o = testing::tiny_options(DType::F32);
  o.graph_breaks = graph_breaks;
  o.blocks_per_piece = blocks_per_piece;
  o.target_split_size = target_split_size;
  auto ckpt = open_checkpoint(f.checkpoint);
  std::vector<LoraAdapter> adapters;
  CheckpointSet checkpoints{ckpt.get(), {}};
  if (adapter) {
    adapters.push_back(testing::tiny_adapter(f.dir));
    checkpoints.adapters[adapter->name] = adapters.back().checkpoint.get();
  }
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o, adapters);
  run_pipeline(p, o);
  pack_program(p, checkpoints, out, 1, "pte test");
  runtime::LoadedProgram program(out);
  runtime::Runner runner(program, adapter ? adapter->name : "forward");
  const std::vector<int32_t> prompt = {1, 5, 7, 2, 9, 3, 4};  // two calls: 4 + 3 tokens
  runtime::GenerateOptions g;
  g.max_new_tokens = 3;
  g.keep_logits = true;
  return runner.generate(prompt, g).logits;
}

TEST(PieceCuts, EveryCutComputesTheSameLogits) {
  auto f = testing::write_tiny_llama("cuts", true, {}, {}, 3);
  std::vector<float> three = logits_of(f, f.dir + "/three.pte", true, 0);
  ASSERT_EQ(three.size(), 9u * 10u);  // 7 prompt rows + 2 fed-back tokens, vocab 10
  EXPECT_EQ(logits_of(f, f.dir + "/one.pte", false, 0), three);
  EXPECT_EQ(logits_of(f, f.dir + "/per_layer.pte", true, 1), three);
  EXPECT_EQ(logits_of(f, f.dir + "/pairs.pte", true, 2), three);
}

TEST(PieceCuts, SplitLinearsComputeTheSameLogits) {
  auto f = testing::write_tiny_llama("split_cuts", true, {}, {}, 2);
  std::vector<float> whole = logits_of(f, f.dir + "/whole.pte", true, 0);
  EXPECT_EQ(logits_of(f, f.dir + "/split.pte", true, 0, 4), whole);  // wq 2 chunks, w1 6, output 2
}

TEST(PieceCuts, SplitLinearsKeepLoraAdaptersExact) {
  // The adapter's B is split by output rows with its base linear: wq 8 rows -> 2 chunks of 4,
  // w2 8 rows -> 2 chunks; logits of the adapter method are unchanged, bit for bit.
  auto f = testing::write_tiny_llama("split_lora", true, {}, {}, 2);
  LoraAdapter adapter = testing::tiny_adapter(f.dir);
  std::vector<float> whole = logits_of(f, f.dir + "/whole.pte", true, 0, 1024, &adapter);
  std::vector<float> base = logits_of(f, f.dir + "/base.pte", true, 0);
  EXPECT_NE(whole, base);  // the adapter changes the output
  EXPECT_EQ(logits_of(f, f.dir + "/split.pte", true, 0, 4, &adapter), whole);
}

}  // namespace
}  // namespace pte
