#pragma once
// A piece payload (backend pte.graph.v1): parsed from its blob and validated so that running
// it cannot go out of bounds: indices in range, every value produced once before use,
// constants backed by blobs of the right size, operator shapes per FORMAT.md §5.
#include <span>
#include <string>
#include <vector>

#include "runtime-load/graph_types.h"
#include "runtime-load/loaded_program.h"
#include "schema/piece_graph.pb.h"

namespace pte::runtime {

class PieceGraph {
 public:
  // `context` names the piece in error messages, e.g. "method 'forward' piece 1".
  PieceGraph(const LoadedProgram& program, std::string_view payload_key, const std::string& context);

  const std::vector<GraphValue>& values() const { return values_; }
  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }
  // For each value, the index of the last node reading it (-1 when no node does).
  const std::vector<int>& last_use() const { return last_use_; }

  // Distinct blob keys of the constants (codes and scales), in value order, and their total bytes.
  std::vector<std::string> constant_blobs() const;
  uint64_t constant_bytes() const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void read_values(const graph::PieceGraph& proto);
  void read_constant(const graph::Constant& c, int64_t numel, const std::string& where, GraphValue& g) const;

  const LoadedProgram& program_;
  std::string context_;
  std::vector<GraphValue> values_;
  std::vector<GraphNode> nodes_;
  std::vector<int> inputs_, outputs_, last_use_;
};

}  // namespace pte::runtime
