// No allocation per decode call after the first: operator new is replaced in this test binary
// and counts every allocation made while the runner decodes on the fast executor.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "exporter/packer/pack.h"
#include "exporter/program/llama_builder.h"
#include "passes/pipeline.h"
#include "runner/runner.h"
#include "tests/unit/exporter/tiny_llama.h"

namespace {
std::atomic<size_t> g_allocations{0};
}

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace pte {
namespace {

size_t allocations_of_decode(bool multifunction, DType dtype, runtime::ExecutorKind kind) {
  ExportOptions o = testing::tiny_options(dtype);
  o.multifunction = multifunction;
  o.linear_quantize = LinearQuantization::C4W;
  const std::string name = std::string("alloc_") + (multifunction ? "mf" : "single") + dtype_name(dtype);
  auto f = testing::write_tiny_llama(name);
  auto ckpt = open_checkpoint(f.checkpoint);
  CheckpointSet checkpoints{ckpt.get(), {}};
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o, {});
  run_pipeline(p, o);
  const std::string out = f.dir + "/model.pte";
  pack_program(p, checkpoints, out, 1, "pte test");
  runtime::LoadedProgram program(out);
  runtime::Runner runner(program, "forward", runtime::ExecutorOptions{kind, 2, ""});
  const int32_t prompt[] = {1, 5, 7};
  runner.step(prompt);
  int32_t token = 2;
  runner.step(std::span<const int32_t>(&token, 1));  // the first decode call may allocate
  const size_t before = g_allocations.load();
  for (int i = 0; i < 8; ++i) {
    token = static_cast<int32_t>(runtime::argmax(runner.step(std::span<const int32_t>(&token, 1))));
  }
  return g_allocations.load() - before;
}

TEST(FastAllocations, NonePerDecodeCallAfterTheFirst) {
  EXPECT_EQ(allocations_of_decode(false, DType::F32, runtime::ExecutorKind::Fast), 0u);
  EXPECT_EQ(allocations_of_decode(false, DType::F16, runtime::ExecutorKind::Fast), 0u);
  EXPECT_EQ(allocations_of_decode(true, DType::F16, runtime::ExecutorKind::Fast), 0u);
}

TEST(FastAllocations, TheCounterSeesTheOraclesAllocations) {
  // The count can fail: the reference interpreter allocates its tensors on every call.
  EXPECT_GT(allocations_of_decode(false, DType::F32, runtime::ExecutorKind::Reference), 8u);
}

}  // namespace
}  // namespace pte
