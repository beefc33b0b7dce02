// The fast executor on every CPU variant against the reference interpreter (the oracle), on
// tiny Llamas exported in several modes; its arena plan and thread pool.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "common/error.h"
#include "exporter/packer/pack.h"
#include "exporter/program/llama_builder.h"
#include "passes/pipeline.h"
#include "runner/runner.h"
#include "runtime-fast/prepared_method.h"
#include "tests/unit/exporter/tiny_llama.h"

namespace pte {
namespace {

std::string export_tiny(const std::string& name, ExportOptions o, int layers = 2) {
  auto f = testing::write_tiny_llama(name, true, {}, {}, layers);
  auto ckpt = open_checkpoint(f.checkpoint);
  CheckpointSet checkpoints{ckpt.get(), {}};
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o, {});
  run_pipeline(p, o);
  const std::string out = f.dir + "/" + name + ".pte";
  pack_program(p, checkpoints, out, 1, "pte test");
  return out;
}

runtime::Generation generate(const runtime::LoadedProgram& program, const runtime::ExecutorOptions& e) {
  runtime::Runner runner(program, "forward", e);
  const std::vector<int32_t> prompt = {1, 5, 7, 2, 9, 3, 4};
  runtime::GenerateOptions g;
  g.max_new_tokens = 8;
  g.keep_logits = true;
  return runner.generate(prompt, g);
}

struct Mode {
  const char* name;
  DType dtype;
  bool c4w, multifunction, graph_breaks;
};

class FastExecutorParity : public ::testing::TestWithParam<std::tuple<Mode, fast::CpuVariant>> {};

TEST_P(FastExecutorParity, MatchesTheOracle) {
  const auto [mode, variant] = GetParam();
  if (!fast::cpu_supports(variant)) GTEST_SKIP() << "not run: this CPU lacks " << fast::variant_name(variant);
  ExportOptions o = testing::tiny_options(mode.dtype);
  if (mode.c4w) o.linear_quantize = LinearQuantization::C4W;
  o.multifunction = mode.multifunction;
  o.graph_breaks = mode.graph_breaks;
  runtime::LoadedProgram program(export_tiny(std::string("parity_") + mode.name, o));
  runtime::ExecutorOptions reference{runtime::ExecutorKind::Reference, 0, ""};
  runtime::ExecutorOptions fast{runtime::ExecutorKind::Fast, 2, fast::variant_name(variant)};
  runtime::Generation want = generate(program, reference), got = generate(program, fast);
  EXPECT_EQ(got.tokens, want.tokens);
  ASSERT_EQ(got.logits.size(), want.logits.size());
  float scale = 0, diff = 0;
  for (size_t i = 0; i < want.logits.size(); ++i) {
    scale = std::max(scale, std::fabs(want.logits[i]));
    diff = std::max(diff, std::fabs(got.logits[i] - want.logits[i]));
  }
  // fp32: only the summation order differs; fp16 rounds every activation, so a different sum
  // may land one fp16 ulp away.
  EXPECT_LE(diff, (mode.dtype == DType::F32 ? 1e-5f : 4e-3f) * scale) << "max|logit| " << scale;
}

const Mode kModes[] = {
    {"fp32", DType::F32, false, false, true},       {"fp16", DType::F16, false, false, true},
    {"fp32_c4w", DType::F32, true, false, true},    {"fp16_c4w", DType::F16, true, false, true},
    {"fp32_multifunction", DType::F32, false, true, true}, {"fp32_one_piece", DType::F32, false, false, false},
};

INSTANTIATE_TEST_SUITE_P(Modes, FastExecutorParity,
                         ::testing::Combine(::testing::ValuesIn(kModes),
                                            ::testing::Values(fast::CpuVariant::Portable, fast::CpuVariant::Avx2, fast::CpuVariant::Avx512)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" +
                                  fast::variant_name(std::get<1>(info.param));
                         });

// A token tree computes, row for row, what single steps on each branch compute, and accepting
// a path leaves the caches as those steps would have.
TEST(RunnerTokenTree, RowsEqualSequentialStepsAndAcceptCommitsThePath) {
  runtime::LoadedProgram program(export_tiny("tree", testing::tiny_options(DType::F32)));
  for (runtime::ExecutorKind kind : {runtime::ExecutorKind::Fast, runtime::ExecutorKind::Reference}) {
    runtime::ExecutorOptions e{kind, 2, ""};
    const std::vector<int32_t> prompt = {1, 5, 7};
    runtime::Runner sequential(program, "forward", e), tree(program, "forward", e);
    sequential.step(prompt);
    tree.step(prompt);
    std::vector<float> want;  // rows after 2, then 9, then 3
    for (int32_t t : {2, 9, 3}) {
      const std::vector<float>& row = sequential.step(std::span<const int32_t>(&t, 1));
      want.insert(want.end(), row.begin(), row.end());
    }
    // Row 0 = 2; branch 9 -> 3 (rows 1, 2); branch 4 (row 3).
    const std::vector<int32_t> tokens = {2, 9, 3, 4}, parents = {-1, 0, 1, 0};
    std::vector<float> got = tree.step_tree(tokens, parents);
    ASSERT_EQ(got.size(), 4 * want.size() / 3);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << executor_kind_name(kind) << " " << i;
    EXPECT_EQ(tree.position(), 3);  // nothing committed yet
    const std::vector<size_t> path = {0, 1, 2};
    tree.accept(path);
    EXPECT_EQ(tree.position(), sequential.position());
    for (size_t l = 0; l < 2; ++l) {
      EXPECT_EQ(tree.k_cache(l).floats, sequential.k_cache(l).floats) << executor_kind_name(kind);
      EXPECT_EQ(tree.v_cache(l).floats, sequential.v_cache(l).floats) << executor_kind_name(kind);
    }
    const int32_t next = 6;
    EXPECT_EQ(tree.step(std::span<const int32_t>(&next, 1)), sequential.step(std::span<const int32_t>(&next, 1)));
    EXPECT_THROW(tree.accept(path), Error);  // no tree pending
    const std::vector<size_t> bad_path = {0, 3, 2};
    tree.step_tree(tokens, parents);
    EXPECT_THROW(tree.accept(bad_path), Error);
  }
}

TEST(FastExecutor, ArenaReusesTheFloatsOfDeadValues) {
  runtime::LoadedProgram program(export_tiny("arena", testing::tiny_options(DType::F32), 3));
  runtime::MethodGraph graph(program, "forward");
  ThreadPool pool(1);
  fast::PreparedMethod prepared(graph, pool, fast::CpuVariant::Portable);
  size_t all_values = 0;
  for (const runtime::PreparedPiece& piece : graph.pieces())
    for (const runtime::GraphNode& node : piece.graph.nodes())
      all_values += static_cast<size_t>(runtime::numel(piece.graph.values()[node.output].shape));
  EXPECT_GT(prepared.steps(), 30u);
  EXPECT_LT(prepared.arena_floats(), all_values / 2) << "the plan should reuse floats of dead values";
}

TEST(FastExecutor, RejectsAVariantTheCpuLacksAndAnUnknownName) {
  runtime::LoadedProgram program(export_tiny("variant", testing::tiny_options(DType::F32)));
  runtime::ExecutorOptions bad{runtime::ExecutorKind::Fast, 1, "sse9"};
  EXPECT_THROW(runtime::Runner runner(program, "forward", bad), Error);
  EXPECT_THROW(runtime::parse_executor_kind("quick"), Error);
}

TEST(FastThreadPool, CoversEveryItemOnceAndRethrows) {
  ThreadPool pool(2);
  for (size_t count : {1u, 2u, 7u, 1000u}) {
    std::vector<std::atomic<int>> seen(count);
    pool.parallel_for(count, true, [&](size_t b, size_t e, size_t t) {
      EXPECT_LT(t, pool.size());
      for (size_t i = b; i < e; ++i) seen[i]++;
    });
    for (size_t i = 0; i < count; ++i) EXPECT_EQ(seen[i].load(), 1) << count << " " << i;
  }
  EXPECT_THROW(pool.parallel_for(100, true, [](size_t b, size_t, size_t) {
                 if (b == 0) throw Error("boom");
               }),
               Error);
  int after = 0;
  pool.parallel_for(1, true, [&](size_t, size_t, size_t) { ++after; });
  EXPECT_EQ(after, 1);
}

// Many short loops of changing sizes on more threads than cores: a worker that wakes late
// inside an old loop must never claim items of the next one (each item runs exactly once, and
// no loop waits forever for a spurious count).
TEST(FastThreadPool, LateWorkersNeverClaimTheNextLoop) {
  ThreadPool pool(4);
  const size_t counts[] = {3, 1000, 7, 64, 2, 333};
  for (int loop = 0; loop < 100000; ++loop) {
    const size_t count = counts[loop % 6];
    std::atomic<size_t> ran{0}, outside{0};
    pool.parallel_for(count, true, [&](size_t b, size_t e, size_t) {
      for (size_t i = b; i < e; ++i) (i < count ? ran : outside)++;
    });
    ASSERT_EQ(ran.load(), count) << "loop " << loop;
    ASSERT_EQ(outside.load(), 0u) << "loop " << loop;
  }
}

}  // namespace
}  // namespace pte
