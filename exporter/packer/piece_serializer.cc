#include "exporter/packer/piece_serializer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "schema/piece_graph.pb.h"

namespace pte {
namespace {

void set_attribute(graph::Attribute& a, const AttrValue& value) {
  if (auto* i = std::get_if<int64_t>(&value)) a.set_i(*i);
  else if (auto* f = std::get_if<double>(&value)) a.set_f(*f);
  else if (auto* s = std::get_if<std::string>(&value)) a.set_s(*s);
  else for (int64_t v : std::get<std::vector<int64_t>>(value)) a.mutable_ints()->add_values(v);
}

// Opset 2 (FORMAT.md §5) adds head_rms_norm and linear's bias; a graph without them stays
// opset 1, readable by every runtime of format version 1.
uint32_t opset_of(const Graph& g) {
  for (const GraphNode& n : g.nodes)
    if (n.op == "head_rms_norm" || (n.op == "linear" && n.inputs.size() == 3)) return 2;
  return 1;
}

}  // namespace

std::vector<uint8_t> serialize_piece_graph(const Graph& g) {
  graph::PieceGraph pg;
  pg.set_opset(opset_of(g));
  // Only the piece's inputs and outputs need names (the container wires pieces by them);
  // constants are named by their blob and internal values by their index. A method's
  // payloads are most of the file's overhead beyond the weights, so they stay lean.
  std::vector<bool> named(g.values.size(), false);
  for (int v : g.inputs) named[v] = true;
  for (int v : g.outputs) named[v] = true;
  for (size_t i = 0; i < g.values.size(); ++i) {
    const GraphValue& v = g.values[i];
    graph::Value* out = pg.add_values();
    if (named[i]) out->set_name(v.name);
    out->set_dtype(static_cast<graph::DType>(v.dtype));
    for (int64_t d : v.shape) out->add_shape(d);
    if (v.is_weight()) {
      graph::Constant* c = out->mutable_constant();
      c->set_blob(v.weight);
      if (v.is_quantized()) {
        c->set_scales_blob(v.scales);
        c->set_group_size(v.group_size);
        c->set_scales_dtype(static_cast<graph::DType>(v.scales_dtype));
      }
    }
  }
  for (const GraphNode& n : g.nodes) {
    graph::Node* out = pg.add_nodes();
    out->set_op(n.op);
    for (int i : n.inputs) out->add_inputs(i);
    for (int o : n.outputs) out->add_outputs(o);
    for (const auto& [name, value] : n.attrs) {
      graph::Attribute* a = out->add_attributes();
      a->set_name(name);
      set_attribute(*a, value);
    }
  }
  for (int i : g.inputs) pg.add_inputs(i);
  for (int o : g.outputs) pg.add_outputs(o);

  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    pg.SerializeToCodedStream(&coded);
  }
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace pte
