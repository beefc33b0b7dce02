#pragma once
// One method of a loaded program, validated for execution: its I/O specs, and its pieces with
// their payload graphs parsed and their wiring checked (every piece input is a method input or
// an earlier piece's output of the same dtype and shape; every method output is produced as
// declared). Executors run a MethodGraph; nothing they do at run time can be invalid.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime-load/loaded_program.h"
#include "runtime-load/piece_graph.h"

namespace pte::runtime {

struct IoSpec {
  std::string name;
  DType dtype = DType::Invalid;
  Shape shape;
  fb::IORole role = fb::IORole::Tokens;
  int layer = -1;
};

struct PreparedPiece {
  std::vector<std::string> inputs, outputs;  // method-level value names
  PieceGraph graph;
};

class MethodGraph {
 public:
  MethodGraph(const LoadedProgram& program, std::string_view method_name);

  const LoadedProgram& program() const { return *program_; }
  const std::string& name() const { return name_; }
  const fb::Method& method() const { return *method_; }
  const std::vector<IoSpec>& inputs() const { return inputs_; }
  const std::vector<IoSpec>& outputs() const { return outputs_; }
  const std::vector<PreparedPiece>& pieces() const { return pieces_; }

  // Checks the inputs of one call: one per IOSpec, each an activation (not a constant) of the
  // declared dtype and shape holding that many values. Throws pte::Error naming the method.
  void check_inputs(std::span<const Tensor* const> inputs) const;

 private:
  void prepare_pieces();

  const LoadedProgram* program_;
  const fb::Method* method_;
  std::string name_;
  std::vector<IoSpec> inputs_, outputs_;
  std::vector<PreparedPiece> pieces_;
};

std::string type_string(DType dtype, const Shape& shape);

}  // namespace pte::runtime
