#pragma once
// Graph breaks: cuts every method's graph into pieces along node stages (SPEC §7).
// Invariant after the pass: each method's pieces, run in order, compute exactly the method's
// graph; every piece input is a method input or an output of an earlier piece; every method
// output is produced by some piece; all methods are cut at the same stages, so pieces at the
// same position share their weights.
// Default: three pieces (embedding | blocks | head); --no_graph_breaks: one piece;
// --blocks_per_piece N: embedding | layers 0..N-1 | layers N..2N-1 | ... | head.
#include "passes/pass.h"

namespace pte {

// Cuts `method.graph` into pieces by piece_of_stage; replaces method.pieces.
void cut_into_pieces(Method& method, const ExportOptions& options);

extern const Pass kGraphBreaksPass;

}  // namespace pte
