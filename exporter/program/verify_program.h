#pragma once
// The invariants of a Program, checked after the builder and after every pass (passes/pipeline):
// graphs are well formed (every node input and output names an existing value, each value is
// produced once, graph inputs and outputs exist), constants have recipes, and every tensor
// respects the format's bounds (schema/limits.h), so that a file pte writes is one pte can run.
#include <string>

#include "exporter/program/program.h"

namespace pte {

// Throws pte::Error: a bound exceeded is the user's (it names the tensor and the flags that
// size it); a malformed graph is an internal error naming `after` (the builder or a pass).
void verify_program(const Program& program, const std::string& after);

}  // namespace pte
