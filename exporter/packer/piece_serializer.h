#pragma once
// Serializes a piece's graph to a schema/piece_graph.proto PieceGraph (backend pte.graph.v1).
#include <cstdint>
#include <vector>

#include "exporter/program/graph.h"

namespace pte {

// Deterministic bytes: the same graph always gives the same payload.
std::vector<uint8_t> serialize_piece_graph(const Graph& graph);

}  // namespace pte
