#pragma once
// Graph breaks: cuts every method's graph into pieces along node stages.
// Invariant after the pass: each method's pieces, run in order, compute exactly the method's
// graph; every piece input is a method input or an output of an earlier piece; every method
// output is produced by some piece; all methods are cut at the same stages (SPEC §7).
// Default: three pieces (embedding | blocks | head); --no_graph_breaks: one piece.
#include "passes/pass.h"

namespace pte {

// Piece index of a node stage ("embedding", "layers.N", "head") under the options.
int piece_of_stage(const std::string& stage, const ExportOptions& options);

// Cuts `method.graph` into pieces by `piece_of(node.stage)`; replaces method.pieces.
void cut_into_pieces(Method& method, const ExportOptions& options);

extern const Pass kGraphBreaksPass;

}  // namespace pte
