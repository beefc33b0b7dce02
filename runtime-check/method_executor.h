#pragma once
// Runs one method of a loaded program: binds the inputs by IOSpec order, runs the pieces in
// order through a name -> tensor environment and returns the method outputs. Everything that
// can be checked before running (piece wiring, value types, operator shapes) is checked when
// the executor is built (runtime-load/method_graph.h).
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime-load/method_graph.h"

namespace pte::runtime {

// Sees the input x [1, T, K] of every linear as it runs, with the weight constant it is
// multiplied by (calibration collects input-channel statistics this way). `input` names x's
// graph value within the method: linears that read the same value in a call get the same number.
class LinearInputObserver {
 public:
  virtual ~LinearInputObserver() = default;
  virtual void linear_input(const GraphValue& weight, int64_t input, const Tensor& x) = 0;
};

class MethodExecutor {
 public:
  MethodExecutor(const LoadedProgram& program, std::string_view method_name);

  const MethodGraph& graph() const { return graph_; }
  const std::string& name() const { return graph_.name(); }
  const fb::Method& method() const { return graph_.method(); }
  const std::vector<IoSpec>& inputs() const { return graph_.inputs(); }
  const std::vector<IoSpec>& outputs() const { return graph_.outputs(); }
  const std::vector<PreparedPiece>& pieces() const { return graph_.pieces(); }

  // `inputs[i]` is bound to IOSpec input i; its dtype and shape must match. Returns the method
  // outputs in IOSpec order.
  std::vector<std::shared_ptr<const Tensor>> run(std::span<const Tensor* const> inputs) const;

  // Called before each linear of later runs; null (the default) for none. Not owned.
  void set_linear_observer(LinearInputObserver* observer) { observer_ = observer; }

 private:
  using Environment = std::unordered_map<std::string, std::shared_ptr<const Tensor>>;
  void run_piece(size_t index, Environment& env) const;

  const LoadedProgram& program_;
  MethodGraph graph_;
  LinearInputObserver* observer_ = nullptr;
};

}  // namespace pte::runtime
