#include "passes/graph_breaks.h"

#include <map>
#include <set>

#include "common/error.h"

namespace pte {
namespace {

int64_t layer_of_stage(const std::string& stage) {
  if (stage.rfind("layers.", 0) != 0) return -1;
  return std::stoll(stage.substr(7));
}

int64_t count_layers(const Graph& g) {
  int64_t n = 0;
  for (const GraphNode& node : g.nodes) n = std::max(n, layer_of_stage(node.stage) + 1);
  return n;
}

std::string run_graph_breaks(Program& program, const ExportOptions& options) {
  size_t pieces = 0;
  for (Method& m : program.methods) {
    cut_into_pieces(m, options);
    pieces = m.pieces.size();
  }
  return std::to_string(program.methods.size()) + " method(s) cut into " + std::to_string(pieces) +
         " piece(s) each";
}

struct PieceAssignment {
  int index;         // position of the piece in the method
  std::string name;  // "embedding", "blocks", "layers_4-7", "head" or "all"
};

// Where a node of stage "embedding", "layers.N" or "head" goes, for a model of `n_layers`.
PieceAssignment piece_of_stage(const std::string& stage, int64_t n_layers, const ExportOptions& options) {
  if (!options.graph_breaks) return {0, "all"};
  const int64_t per_piece = options.blocks_per_piece > 0 ? options.blocks_per_piece : std::max<int64_t>(n_layers, 1);
  const int64_t block_pieces = (n_layers + per_piece - 1) / per_piece;
  if (stage == "embedding") return {0, "embedding"};
  if (stage == "head") return {static_cast<int>(1 + block_pieces), "head"};
  const int64_t layer = layer_of_stage(stage);
  if (layer < 0) throw Error("internal: node stage '" + stage + "' has no piece");
  if (options.blocks_per_piece <= 0) return {1, "blocks"};
  const int64_t first = layer / per_piece * per_piece;
  const int64_t last = std::min(first + per_piece, n_layers) - 1;
  return {static_cast<int>(1 + layer / per_piece), "layers_" + std::to_string(first) + "-" + std::to_string(last)};
}

}  // namespace

const Pass kGraphBreaksPass = {"graph_breaks", run_graph_breaks};

void cut_into_pieces(Method& method, const ExportOptions& options) {
  const Graph& g = method.graph;
  const int64_t n_layers = count_layers(g);
  std::vector<int> node_piece(g.nodes.size());
  std::vector<std::string> piece_names;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    PieceAssignment a = piece_of_stage(g.nodes[i].stage, n_layers, options);
    node_piece[i] = a.index;
    if (i > 0 && node_piece[i] < node_piece[i - 1])
      throw Error("internal: method '" + method.name + "' nodes are not ordered by piece");
    if (a.index >= static_cast<int>(piece_names.size())) piece_names.resize(a.index + 1);
    piece_names[a.index] = a.name;
  }
  const int n_pieces = static_cast<int>(piece_names.size());
  // Which piece produces each value (-1: method input or constant), and the last piece using it.
  std::vector<int> producer(g.values.size(), -1);
  std::vector<int> last_use(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int v : g.nodes[i].outputs) producer[v] = node_piece[i];
    for (int v : g.nodes[i].inputs) last_use[v] = std::max(last_use[v], node_piece[i]);
  }
  std::set<int> method_outputs(g.outputs.begin(), g.outputs.end());

  method.pieces.clear();
  for (int p = 0; p < n_pieces; ++p) {
    Piece piece;
    piece.name = piece_names[p];
    Graph& pg = piece.graph;
    std::map<int, int> local;  // method value index -> piece value index
    auto import = [&](int v) {
      auto it = local.find(v);
      if (it != local.end()) return it->second;
      const GraphValue& val = g.values[v];
      int idx = val.is_weight() ? pg.add_constant(val) : pg.add_value(val.name, val.dtype, val.shape);
      local[v] = idx;
      return idx;
    };
    // Inputs first, in method value order, so the piece signature is deterministic.
    std::set<int> inputs;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (node_piece[i] == p)
        for (int v : g.nodes[i].inputs)
          if (!g.values[v].is_weight() && producer[v] != p) inputs.insert(v);
    for (int v : inputs) {
      pg.inputs.push_back(import(v));
      piece.inputs.push_back(g.values[v].name);
    }
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (node_piece[i] != p) continue;
      GraphNode node = g.nodes[i];
      for (int& v : node.inputs) v = import(v);
      for (int& v : node.outputs) v = import(v);
      pg.nodes.push_back(std::move(node));
    }
    for (size_t v = 0; v < g.values.size(); ++v)
      if (producer[v] == p && (last_use[v] > p || method_outputs.count(static_cast<int>(v)))) {
        pg.outputs.push_back(local.at(static_cast<int>(v)));
        piece.outputs.push_back(g.values[v].name);
      }
    method.pieces.push_back(std::move(piece));
  }
}

}  // namespace pte
