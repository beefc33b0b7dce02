#include "passes/pipeline.h"

#include "passes/graph_breaks.h"
#include "passes/split_linears.h"

namespace pte {

std::vector<Pass> export_pipeline(const ExportOptions& options) {
  std::vector<Pass> passes;
  passes.push_back(kSplitLinearsPass);
  passes.push_back(kGraphBreaksPass);  // last: cuts each method's final graph into pieces
  return passes;
}

std::vector<std::string> run_pipeline(Program& program, const ExportOptions& options) {
  std::vector<std::string> log;
  for (const Pass& pass : export_pipeline(options))
    log.push_back(std::string(pass.name) + ": " + pass.run(program, options));
  return log;
}

}  // namespace pte
