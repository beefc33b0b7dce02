#pragma once
// Runs one method of a loaded program: binds the inputs by IOSpec order, runs the pieces in
// order through a name -> tensor environment and returns the method outputs. Everything that
// can be checked before running (piece wiring, value types, operator shapes) is checked when
// the executor is built.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
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

class MethodExecutor {
 public:
  MethodExecutor(const LoadedProgram& program, std::string_view method_name);

  const std::string& name() const { return name_; }
  const fb::Method& method() const { return *method_; }
  const std::vector<IoSpec>& inputs() const { return inputs_; }
  const std::vector<IoSpec>& outputs() const { return outputs_; }
  const std::vector<PreparedPiece>& pieces() const { return pieces_; }

  // `inputs[i]` is bound to IOSpec input i; its dtype and shape must match. Returns the method
  // outputs in IOSpec order.
  std::vector<std::shared_ptr<const Tensor>> run(std::span<const Tensor* const> inputs) const;

 private:
  void prepare_pieces();
  using Environment = std::unordered_map<std::string, std::shared_ptr<const Tensor>>;
  void run_piece(size_t index, Environment& env) const;

  const LoadedProgram& program_;
  const fb::Method* method_;
  std::string name_;
  std::vector<IoSpec> inputs_, outputs_;
  std::vector<PreparedPiece> pieces_;
};

}  // namespace pte::runtime
