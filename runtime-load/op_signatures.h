#pragma once
// The operator table of FORMAT.md §5: names, attributes, and the input/output shapes and dtypes
// each operator accepts.
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "runtime-load/graph_types.h"
#include "schema/piece_graph.pb.h"

namespace pte::runtime {

std::optional<Op> op_from_name(std::string_view name);
const char* op_name(Op op);

// Reads the attributes `op` needs from `node`; returns an empty string, or what is wrong.
std::string read_attributes(Op op, const graph::Node& node, OpAttributes& out);

// The first opset that has `op` with `n_inputs` inputs: 2 for head_rms_norm and for a linear
// with a bias (3 inputs), else 1.
uint32_t required_opset(Op op, size_t n_inputs);

// Checks the input count, dtypes and shapes of one node against the operator table.
// Normalizes attributes that depend on shapes (concat axis). Returns "" or the problem.
std::string check_signature(Op op, std::span<const GraphValue* const> inputs, const GraphValue& output,
                            OpAttributes& attributes);

}  // namespace pte::runtime
