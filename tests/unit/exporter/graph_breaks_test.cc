#include "passes/graph_breaks.h"

#include <gtest/gtest.h>

#include "exporter/program/llama_builder.h"
#include "passes/pipeline.h"
#include "tiny_llama.h"

namespace pte {
namespace {

using Names = std::vector<std::string>;

Program tiny_program(bool graph_breaks) {
  auto f = testing::write_tiny_llama(graph_breaks ? "breaks" : "nobreaks");
  ExportOptions o = testing::tiny_options(DType::F32);
  o.graph_breaks = graph_breaks;
  auto ckpt = open_checkpoint(f.checkpoint);
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o);
  run_pipeline(p, o);
  return p;
}

TEST(GraphBreaks, ThreePiecesWiredThroughNamedValues) {
  Program p = tiny_program(true);
  const Method& m = p.methods[0];
  ASSERT_EQ(m.pieces.size(), 3u);
  EXPECT_EQ(m.pieces[0].name, "embedding");
  EXPECT_EQ(m.pieces[0].inputs, (Names{"tokens"}));
  EXPECT_EQ(m.pieces[0].outputs, (Names{"embedding_out"}));
  EXPECT_EQ(m.pieces[1].inputs, (Names{"mask", "freqs_cos", "freqs_sin", "k_cache_0", "k_cache_1", "v_cache_0",
                                       "v_cache_1", "embedding_out"}));
  EXPECT_EQ(m.pieces[1].outputs, (Names{"k_update_0", "v_update_0", "k_update_1", "v_update_1", "layers.1.out"}));
  EXPECT_EQ(m.pieces[2].inputs, (Names{"layers.1.out"}));
  EXPECT_EQ(m.pieces[2].outputs, (Names{"logits"}));
  // Each piece graph's signature matches its wiring, and weights stay constants.
  for (const Piece& piece : m.pieces) {
    ASSERT_EQ(piece.graph.inputs.size(), piece.inputs.size());
    for (size_t i = 0; i < piece.inputs.size(); ++i)
      EXPECT_EQ(piece.graph.values[piece.graph.inputs[i]].name, piece.inputs[i]);
    for (int v : piece.graph.inputs) EXPECT_FALSE(piece.graph.values[v].is_weight());
  }
  size_t nodes = 0;
  for (const Piece& piece : m.pieces) nodes += piece.graph.nodes.size();
  EXPECT_EQ(nodes, m.graph.nodes.size());
}

TEST(GraphBreaks, NoGraphBreaksGivesOnePieceWithTheMethodSignature) {
  Program p = tiny_program(false);
  const Method& m = p.methods[0];
  ASSERT_EQ(m.pieces.size(), 1u);
  Names inputs, outputs;
  for (const IOSpec& s : m.inputs) inputs.push_back(s.name);
  for (const IOSpec& s : m.outputs) outputs.push_back(s.name);
  EXPECT_EQ(m.pieces[0].inputs, inputs);
  Names piece_outputs = m.pieces[0].outputs;
  std::sort(piece_outputs.begin(), piece_outputs.end());
  std::sort(outputs.begin(), outputs.end());
  EXPECT_EQ(piece_outputs, outputs);
}

}  // namespace
}  // namespace pte

namespace pte {
namespace {

Program five_layer_program(int64_t blocks_per_piece) {
  auto f = testing::write_tiny_llama("blocks_per_piece", true, {}, {}, 5);
  ExportOptions o = testing::tiny_options(DType::F32);
  o.blocks_per_piece = blocks_per_piece;
  auto ckpt = open_checkpoint(f.checkpoint);
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o);
  run_pipeline(p, o);
  return p;
}

TEST(GraphBreaks, BlocksPerPieceCutsTheBlocksIntoRuns) {
  Program p = five_layer_program(2);
  const Method& m = p.methods[0];
  Names names;
  for (const Piece& piece : m.pieces) names.push_back(piece.name);
  EXPECT_EQ(names, (Names{"embedding", "layers_0-1", "layers_2-3", "layers_4-4", "head"}));
  EXPECT_EQ(m.pieces[2].inputs, (Names{"mask", "freqs_cos", "freqs_sin", "k_cache_2", "k_cache_3", "v_cache_2",
                                       "v_cache_3", "layers.1.out"}));
  EXPECT_EQ(m.pieces[2].outputs, (Names{"k_update_2", "v_update_2", "k_update_3", "v_update_3", "layers.3.out"}));
  EXPECT_EQ(m.pieces[4].inputs, (Names{"layers.4.out"}));
}

TEST(GraphBreaks, BlocksPerPieceOfAllLayersIsTheDefaultCut) {
  Program p = five_layer_program(5);
  ASSERT_EQ(p.methods[0].pieces.size(), 3u);
  EXPECT_EQ(p.methods[0].pieces[1].name, "layers_0-4");
}

}  // namespace
}  // namespace pte
