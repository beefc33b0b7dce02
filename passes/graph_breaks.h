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

struct PieceAssignment {
  int index;         // position of the piece in the method
  std::string name;  // "embedding", "blocks", "layers_4-7", "head" or "all"
};

// Where a node of stage "embedding", "layers.N" or "head" goes, for a model of `n_layers`.
PieceAssignment piece_of_stage(const std::string& stage, int64_t n_layers, const ExportOptions& options);

// Cuts `method.graph` into pieces by piece_of_stage; replaces method.pieces.
void cut_into_pieces(Method& method, const ExportOptions& options);

extern const Pass kGraphBreaksPass;

}  // namespace pte
