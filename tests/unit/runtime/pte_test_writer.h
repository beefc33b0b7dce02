#pragma once
// Test-only .pte writer: header + container flatbuffer + 128-byte aligned blobs, with knobs to
// produce the malformed files the loader must reject. Independent of the exporter on purpose.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "common/dtype.h"
#include "schema/piece_graph.pb.h"
#include "schema/pte_generated.h"

namespace pte::testing {

using Shape = std::vector<int64_t>;

struct IoSpecDesc {
  std::string name;
  DType dtype;
  Shape shape;
  fb::IORole role;
  int layer = -1;
};

struct PieceDesc {
  std::string payload;
  std::vector<std::string> inputs, outputs;
  std::string backend = "pte.graph.v1";
};

struct MethodDesc {
  std::string name;
  fb::MethodRole role = fb::MethodRole::Full;
  std::vector<IoSpecDesc> inputs, outputs;
  std::vector<PieceDesc> pieces;
  std::optional<std::string> adapter;
};

// Encodes float values as `dtype` (fp32, fp16 or bf16) little-endian bytes.
std::vector<uint8_t> encode_floats(const std::vector<float>& values, DType dtype);

class PteWriter {
 public:
  void add_blob(const std::string& key, std::vector<uint8_t> bytes);
  void add_floats(const std::string& key, const std::vector<float>& values, DType dtype = DType::F32);
  void add_graph(const std::string& key, const graph::PieceGraph& graph);
  void add_method(MethodDesc method) { methods_.push_back(std::move(method)); }
  void meta_ints(const std::string& key, Shape shape, std::vector<int64_t> values);
  void meta_int(const std::string& key, int64_t value) { meta_ints(key, {}, {value}); }
  void meta_text(const std::string& key, const std::string& text);
  void meta_blob_tensor(const std::string& key, const std::string& blob, DType dtype, Shape shape);
  // The meta_* calls replace an entry of the same key unless duplicate_metadata is set.
  void erase_meta(const std::string& key);
  bool duplicate_metadata = false;

  std::vector<uint8_t> build() const;
  void write(const std::string& path) const;

  // Corruption knobs.
  bool sort_blobs = true;                            // false: keep insertion order (allows duplicates)
  std::map<std::string, uint64_t> offset_override;  // blob key -> offset written in the table
  std::map<std::string, uint32_t> alignment_override;
  uint32_t flatbuffer_format_version = 2;
  const char* identifier = "PTE1";

 private:
  struct Meta {
    std::string key;
    std::variant<std::pair<Shape, std::vector<int64_t>>, std::string,
                 std::tuple<std::string, DType, Shape>> value;
  };
  std::vector<std::pair<std::string, std::vector<uint8_t>>> blobs_;
  std::vector<MethodDesc> methods_;
  std::vector<Meta> metadata_;
};

// Builds a PieceGraph protobuf value by value and node by node.
class GraphBuilder {
 public:
  using Attr = std::pair<std::string, std::variant<int64_t, double>>;
  int input(const std::string& name, DType dtype, Shape shape);  // also a graph input
  int value(const std::string& name, DType dtype, Shape shape);  // plain value, not an input
  int constant(const std::string& name, DType dtype, Shape shape, const std::string& blob);
  // Adds a value for the result and the node producing it; returns the value index.
  int op(const std::string& op, std::vector<int> inputs, const std::string& out, DType dtype, Shape shape,
         std::vector<Attr> attributes = {});
  void output(int value) { graph_.add_outputs(value); }
  graph::PieceGraph& proto() { return graph_; }

 private:
  graph::PieceGraph graph_ = [] { graph::PieceGraph g; g.set_opset(1); return g; }();
};

}  // namespace pte::testing
