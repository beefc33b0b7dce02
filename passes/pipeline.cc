#include "passes/pipeline.h"

#include "passes/graph_breaks.h"
#include "passes/quantize_weights.h"
#include "passes/split_linears.h"
#include "exporter/program/verify_program.h"

namespace pte {

std::vector<Pass> export_pipeline(const ExportOptions& options) {
  std::vector<Pass> passes;
  passes.push_back(kSplitLinearsPass);  // before quantization, with which it commutes
  if (options.linear_quantize != LinearQuantization::None || !options.quant_overrides.empty())
    passes.push_back(kQuantizeLinearsPass);
  if (options.embedding_quantize) passes.push_back(kQuantizeEmbeddingPass);
  passes.push_back(kGraphBreaksPass);  // last: cuts each method's final graph into pieces
  return passes;
}

std::vector<std::string> run_pipeline(Program& program, const ExportOptions& options) {
  std::vector<std::string> log;
  verify_program(program, "the model builder");
  for (const Pass& pass : export_pipeline(options)) {
    log.push_back(std::string(pass.name) + ": " + pass.run(program, options));
    verify_program(program, std::string("pass ") + pass.name);
  }
  return log;
}

}  // namespace pte
