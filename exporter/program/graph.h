#pragma once
// The exporter's program representation: a dataflow graph of typed values and operators, the
// in-memory twin of schema/piece_graph.proto. A method is one whole graph; the graph-breaks
// pass later cuts it into pieces along the `stage` labels of its nodes.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/dtype.h"

namespace pte {

using Shape = std::vector<int64_t>;
using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>>;

struct GraphValue {
  std::string name;
  DType dtype = DType::Invalid;
  Shape shape;
  std::string weight;  // key into Program::weights for constants; empty for activations
  // Quantized constants (dtype I8 or I4): blob of the scales, and the group size along the
  // last axis (0: one scale per row). Dequantized value = q * scale, rounded to the scales' dtype.
  std::string scales;
  int64_t group_size = 0;
  DType scales_dtype = DType::Invalid;
  bool is_weight() const { return !weight.empty(); }
  bool is_quantized() const { return !scales.empty(); }
};

struct GraphNode {
  std::string op;
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::vector<std::pair<std::string, AttrValue>> attrs;
  std::string stage;  // e.g. "embedding", "layers.3", "head": where graph breaks may cut
};

struct Graph {
  std::vector<GraphValue> values;
  std::vector<GraphNode> nodes;
  std::vector<int> inputs;
  std::vector<int> outputs;

  int add_value(std::string name, DType dtype, Shape shape);
  // A constant backed by Program::weights[key]; one value per key per graph.
  int add_weight(const std::string& key, DType dtype, Shape shape);
  // Copies a constant (quantization included) from another graph; one value per key.
  int add_constant(const GraphValue& constant);
  // Appends a node producing one new value and returns that value's index.
  int add_node(std::string op, std::vector<int> inputs, std::string out_name, DType out_dtype,
               Shape out_shape, std::vector<std::pair<std::string, AttrValue>> attrs,
               std::string stage);
};

std::string shape_to_string(const Shape& s);

}  // namespace pte
