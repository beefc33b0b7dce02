#include "exporter/program/graph.h"

#include "common/error.h"

namespace pte {

int Graph::add_value(std::string name, DType dtype, Shape shape) {
  values.push_back(GraphValue{std::move(name), dtype, std::move(shape), {}, {}, 0, DType::Invalid});
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_weight(const std::string& key, DType dtype, Shape shape) {
  return add_constant(GraphValue{key, dtype, std::move(shape), key, {}, 0, DType::Invalid});
}

int Graph::add_constant(const GraphValue& constant) {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].weight == constant.weight) return static_cast<int>(i);
  values.push_back(constant);
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_node(std::string op, std::vector<int> node_inputs, std::string out_name,
                    DType out_dtype, Shape out_shape,
                    std::vector<std::pair<std::string, AttrValue>> attrs, std::string stage) {
  int out = add_value(std::move(out_name), out_dtype, std::move(out_shape));
  nodes.push_back(GraphNode{std::move(op), std::move(node_inputs), {out}, std::move(attrs),
                            std::move(stage)});
  return out;
}

std::string shape_to_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace pte
