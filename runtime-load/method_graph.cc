#include "runtime-load/method_graph.h"

#include <map>

namespace pte::runtime {
namespace {

std::vector<IoSpec> read_specs(const flatbuffers::Vector<flatbuffers::Offset<fb::IOSpec>>& specs) {
  std::vector<IoSpec> out;
  for (const fb::IOSpec* s : specs)
    out.push_back({std::string(view(s->name())), to_dtype(s->dtype()), to_shape(s->shape()), s->role(), s->layer()});
  return out;
}

}  // namespace

std::string type_string(DType dtype, const Shape& shape) {
  return std::string(dtype_name(dtype)) + " " + shape_string(shape);
}

MethodGraph::MethodGraph(const LoadedProgram& program, std::string_view method_name)
    : program_(&program), method_(&program.method(method_name)), name_(method_name) {
  inputs_ = read_specs(*method_->inputs());
  outputs_ = read_specs(*method_->outputs());
  prepare_pieces();
}

void MethodGraph::prepare_pieces() {
  struct Declared { DType dtype; Shape shape; };
  std::map<std::string, Declared> declared;
  for (const IoSpec& s : inputs_) declared[s.name] = {s.dtype, s.shape};
  const std::string method = "method '" + name_ + "'";

  for (flatbuffers::uoffset_t i = 0; i < method_->pieces()->size(); ++i) {
    const fb::Piece& p = *method_->pieces()->Get(i);
    std::string where = method + " piece " + std::to_string(i);
    if (view(p.backend()) != kGraphBackend)
      program_->fail(where + " has backend '" + std::string(view(p.backend())) + "', expected " + kGraphBackend);
    PreparedPiece piece{{}, {}, PieceGraph(*program_, view(p.payload()), where)};
    const PieceGraph& g = piece.graph;
    for (const auto* s : *p.inputs()) piece.inputs.emplace_back(view(s));
    for (const auto* s : *p.outputs()) piece.outputs.emplace_back(view(s));
    if (piece.inputs.size() != g.inputs().size() || piece.outputs.size() != g.outputs().size())
      program_->fail(where + " lists " + std::to_string(piece.inputs.size()) + " inputs and " +
                     std::to_string(piece.outputs.size()) + " outputs but its graph has " +
                     std::to_string(g.inputs().size()) + " and " + std::to_string(g.outputs().size()));
    for (size_t k = 0; k < piece.inputs.size(); ++k) {
      const GraphValue& v = g.values()[g.inputs()[k]];
      auto it = declared.find(piece.inputs[k]);
      if (it == declared.end())
        program_->fail(where + " input '" + piece.inputs[k] + "' is neither a method input nor an earlier piece's output");
      if (it->second.dtype != v.dtype || it->second.shape != v.shape)
        program_->fail(where + " input '" + piece.inputs[k] + "' is " + type_string(it->second.dtype, it->second.shape) +
                       " but the graph expects " + type_string(v.dtype, v.shape));
    }
    for (size_t k = 0; k < piece.outputs.size(); ++k) {
      const GraphValue& v = g.values()[g.outputs()[k]];
      if (!declared.emplace(piece.outputs[k], Declared{v.dtype, v.shape}).second)
        program_->fail(where + " output '" + piece.outputs[k] + "' is already defined");
    }
    pieces_.push_back(std::move(piece));
  }
  for (const IoSpec& s : outputs_) {
    auto it = declared.find(s.name);
    if (it == declared.end()) program_->fail(method + " output '" + s.name + "' is never produced");
    if (it->second.dtype != s.dtype || it->second.shape != s.shape)
      program_->fail(method + " output '" + s.name + "' is declared " + type_string(s.dtype, s.shape) +
                     " but produced as " + type_string(it->second.dtype, it->second.shape));
  }
}

void MethodGraph::check_inputs(std::span<const Tensor* const> inputs) const {
  // No allocation unless something is wrong: runners call this on every step.
  auto method = [&] { return "method '" + name_ + "'"; };
  if (inputs.size() != inputs_.size())
    program_->fail(method() + " takes " + std::to_string(inputs_.size()) + " inputs, given " +
                   std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const IoSpec& spec = inputs_[i];
    const Tensor& t = *inputs[i];
    size_t stored = is_float(t.dtype) ? t.floats.size() : t.ints.size();
    if (t.dtype != spec.dtype || t.shape != spec.shape || t.is_constant() ||
        static_cast<int64_t>(stored) != t.numel())
      program_->fail(method() + " input " + std::to_string(i) + " '" + spec.name + "' expects " +
                     type_string(spec.dtype, spec.shape) + ", given " + type_string(t.dtype, t.shape) +
                     " holding " + std::to_string(stored) + " values");
  }
}

}  // namespace pte::runtime
