// pte verify's in-memory reference computes what the same program packed to a file computes, its
// weights read from the checkpoint in place.
#include "exporter/reference/reference_program.h"

#include <gtest/gtest.h>

#include "exporter/export_model.h"
#include "exporter/packer/output_file.h"
#include "runner/runner.h"
#include "tiny_llama.h"

namespace pte {
namespace {

std::vector<float> teacher_forced_logits(const runtime::LoadedProgram& program) {
  runtime::Runner runner(program, "forward",
                         runtime::ExecutorOptions{.kind = runtime::ExecutorKind::Reference, .threads = 0, .cpu_variant = {}});
  runtime::GenerateOptions options;
  options.max_new_tokens = 0;
  options.keep_logits = true;
  const std::vector<int32_t> tokens = {1, 4, 7, 2, 9, 3, 5, 8, 6, 0};
  return runner.generate(tokens, options).logits;
}

TEST(ReferenceProgram, MatchesThePackedFloat32ProgramWithWeightsInPlace) {
  const testing::TinyLlamaFiles f = testing::write_tiny_llama("reference_program");
  ExportOptions o = testing::tiny_options(DType::F32);
  o.checkpoint = f.checkpoint;
  o.params = f.params;
  o.graph_breaks = false;

  const std::string path = f.dir + "/packed.pte";
  {
    OutputFile out(path);
    export_model(o, 1, out);
    out.commit();
  }
  const runtime::LoadedProgram packed(path);
  const ReferenceProgram reference(o);
  EXPECT_EQ(reference.computed_weights(), 0u);
  EXPECT_GT(reference.viewed_weights(), 10u);

  const std::vector<float> expected = teacher_forced_logits(packed);
  const std::vector<float> found = teacher_forced_logits(reference.program());
  ASSERT_EQ(found.size(), expected.size());
  ASSERT_FALSE(expected.empty());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(found[i], expected[i]) << "logit " << i;
}

TEST(ReferenceProgram, InOrderViewsAlsoRunOnTheFastExecutor) {
  // Views in another row order exist only for Hugging Face checkpoints; in order, a reference
  // program also runs on the fast executor.
  const testing::TinyLlamaFiles f = testing::write_tiny_llama("reference_fast");
  ExportOptions o = testing::tiny_options(DType::F32);
  o.checkpoint = f.checkpoint;
  o.params = f.params;
  const ReferenceProgram reference(o);
  EXPECT_NO_THROW(runtime::Runner(reference.program(), "forward"));
}

}  // namespace
}  // namespace pte
