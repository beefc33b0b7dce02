#include "runtime-load/piece_graph.h"

#include <algorithm>
#include <climits>
#include <set>

#include "runtime-load/op_signatures.h"

namespace pte::runtime {
namespace {

bool valid_dtype(int d) { return d >= 1 && d <= 8; }

}  // namespace

void PieceGraph::fail(const std::string& what) const { program_.fail(context_ + ": " + what); }

PieceGraph::PieceGraph(const LoadedProgram& program, std::string_view payload_key,
                       const std::string& context)
    : program_(program), context_(context + " (payload '" + std::string(payload_key) + "')") {
  std::span<const uint8_t> bytes = program.blob_bytes(payload_key);
  graph::PieceGraph proto;
  if (bytes.size() > INT_MAX || !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail("payload is not a valid PieceGraph protobuf");
  if (proto.opset() < 1 || proto.opset() > 2)
    fail("opset is " + std::to_string(proto.opset()) + ", this runtime supports 1 and 2");
  read_values(proto);

  std::vector<bool> defined(values_.size(), false);
  for (size_t i = 0; i < values_.size(); ++i) defined[i] = values_[i].constant.has_value();
  std::set<int> seen_inputs;
  for (int index : proto.inputs()) {
    if (index < 0 || static_cast<size_t>(index) >= values_.size())
      fail("graph input index " + std::to_string(index) + " is out of range");
    if (values_[index].constant) fail("graph input '" + values_[index].name + "' is a constant");
    if (!seen_inputs.insert(index).second) fail("graph input '" + values_[index].name + "' is listed twice");
    defined[index] = true;
    inputs_.push_back(index);
  }

  last_use_.assign(values_.size(), -1);
  nodes_.reserve(proto.nodes_size());
  for (int n = 0; n < proto.nodes_size(); ++n) {
    const graph::Node& node = proto.nodes(n);
    std::string where = "node " + std::to_string(n) + " (" + node.op() + ")";
    std::optional<Op> op = op_from_name(node.op());
    if (!op) fail(where + ": unknown operator '" + node.op() + "'");
    GraphNode g{*op, {}, -1, {}};
    if (std::string e = read_attributes(*op, node, g.attributes); !e.empty()) fail(where + ": " + e);
    std::vector<const GraphValue*> in;
    for (int index : node.inputs()) {
      if (index < 0 || static_cast<size_t>(index) >= values_.size())
        fail(where + ": input index " + std::to_string(index) + " is out of range");
      if (!defined[index]) fail(where + ": input '" + values_[index].name + "' is used before it is produced");
      in.push_back(&values_[index]);
      g.inputs.push_back(index);
      last_use_[index] = n;
    }
    if (required_opset(*op, in.size()) > proto.opset())
      fail(where + ": needs opset " + std::to_string(required_opset(*op, in.size())) + ", the graph declares opset " +
           std::to_string(proto.opset()));
    if (node.outputs_size() != 1)
      fail(where + ": has " + std::to_string(node.outputs_size()) + " outputs, expected 1");
    int out = node.outputs(0);
    if (out < 0 || static_cast<size_t>(out) >= values_.size())
      fail(where + ": output index " + std::to_string(out) + " is out of range");
    if (defined[out]) fail(where + ": output '" + values_[out].name + "' is already defined");
    if (std::string e = check_signature(*op, in, values_[out], g.attributes); !e.empty())
      fail(where + ": " + e);
    defined[out] = true;
    g.output = out;
    nodes_.push_back(std::move(g));
  }

  for (int index : proto.outputs()) {
    if (index < 0 || static_cast<size_t>(index) >= values_.size())
      fail("graph output index " + std::to_string(index) + " is out of range");
    if (!defined[index]) fail("graph output '" + values_[index].name + "' is never produced");
    if (values_[index].constant) fail("graph output '" + values_[index].name + "' is a constant");
    outputs_.push_back(index);
  }
}

void PieceGraph::read_values(const graph::PieceGraph& proto) {
  values_.reserve(proto.values_size());
  for (int i = 0; i < proto.values_size(); ++i) {
    const graph::Value& v = proto.values(i);
    GraphValue g;
    g.name = v.name();
    std::string where = "value " + std::to_string(i) + " '" + v.name() + "'";
    if (!valid_dtype(v.dtype())) fail(where + " has invalid dtype " + std::to_string(v.dtype()));
    g.dtype = static_cast<DType>(v.dtype());
    g.shape.assign(v.shape().begin(), v.shape().end());
    const int64_t limit = v.has_constant() ? kMaxConstantElements : kMaxTensorElements;
    int64_t n = checked_numel(g.shape, limit);
    if (n < 0)
      fail(where + " shape " + shape_string(g.shape) + " has a negative dimension or more than " +
           std::to_string(limit) + " elements");
    if (v.has_constant()) read_constant(v.constant(), n, where, g);
    values_.push_back(std::move(g));
  }
}

void PieceGraph::read_constant(const graph::Constant& c, int64_t numel, const std::string& where,
                               GraphValue& g) const {
  const fb::Blob* blob = program_.find_blob(c.blob());
  if (!blob) fail(where + " names blob '" + c.blob() + "' which is not in the blob table");
  uint64_t expected = storage_bytes(g.dtype, static_cast<uint64_t>(numel));
  if (blob->size() != expected)
    fail(where + " is " + dtype_name(g.dtype) + " " + shape_string(g.shape) + " (" + std::to_string(expected) +
         " bytes) but blob '" + c.blob() + "' has " + std::to_string(blob->size()) + " bytes");
  g.blob = c.blob();
  const uint8_t* bytes = program_.blob_bytes(*blob).data();
  if (c.scales_blob().empty() && c.group_size() == 0) {
    g.constant = Tensor::constant(g.dtype, g.shape, bytes);
    g.constant->row_order = program_.blob_row_order(*blob);
    return;
  }

  if (program_.blob_row_order(*blob)) fail(where + " is quantized and its blob is stored in another row order");
  // Quantized: int8/int4 codes, one scale per `group` elements along the last axis (0: per row).
  if (g.dtype != DType::I8 && g.dtype != DType::I4)
    fail(where + " has scales but dtype " + dtype_name(g.dtype) + "; quantized codes are int8 or int4");
  if (g.shape.empty()) fail(where + " is a quantized scalar; quantization needs a last axis");
  const int64_t row_length = g.shape.back();
  const int64_t group = c.group_size() == 0 ? row_length : c.group_size();
  if (c.group_size() < 0 || (row_length > 0 && (group == 0 || row_length % group != 0)))
    fail(where + " group_size " + std::to_string(c.group_size()) + " does not divide the last dimension " +
         std::to_string(row_length));
  const fb::Blob* scales = program_.find_blob(c.scales_blob());
  if (!scales) fail(where + " names scales blob '" + c.scales_blob() + "' which is not in the blob table");
  const uint64_t count = row_length == 0 ? 0 : static_cast<uint64_t>(numel / row_length * (row_length / group));
  const DType scales_dtype = static_cast<DType>(c.scales_dtype());
  if (scales_dtype != DType::F16 && scales_dtype != DType::F32)
    fail(where + " has scales_dtype " + dtype_name(scales_dtype) + "; expected fp16 or fp32");
  if (scales->size() != storage_bytes(scales_dtype, count))
    fail(where + " needs " + std::to_string(count) + " " + dtype_name(scales_dtype) + " scales but blob '" +
         c.scales_blob() + "' has " + std::to_string(scales->size()) + " bytes");
  g.scales_blob = c.scales_blob();
  g.constant = Tensor::quantized(g.dtype, g.shape, bytes, program_.blob_bytes(*scales).data(), scales_dtype,
                                 std::max<int64_t>(group, 1));
}

std::vector<std::string> PieceGraph::constant_blobs() const {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const GraphValue& v : values_)
    if (v.constant)
      for (const std::string* key : {&v.blob, &v.scales_blob})
        if (!key->empty() && seen.insert(*key).second) keys.push_back(*key);
  return keys;
}

uint64_t PieceGraph::constant_bytes() const {
  uint64_t total = 0;
  for (const std::string& key : constant_blobs()) total += program_.blob_bytes(key).size();
  return total;
}

}  // namespace pte::runtime
