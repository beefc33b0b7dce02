#pragma once
// The export pipeline: which passes run, in which order, for which flags. The only place that
// decides it.
#include <string>
#include <vector>

#include "passes/pass.h"

namespace pte {

std::vector<Pass> export_pipeline(const ExportOptions& options);

// Runs the pipeline; returns "name: summary" per pass, in order.
std::vector<std::string> run_pipeline(Program& program, const ExportOptions& options);

}  // namespace pte
