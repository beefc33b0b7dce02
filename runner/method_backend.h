#pragma once
// The executor a runner drives a method with: the fast executor (runtime-fast, the default) or
// the reference interpreter (runtime-check, the oracle). Both run a validated MethodGraph.
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "runtime-load/method_graph.h"

namespace pte::runtime {

enum class ExecutorKind { Fast, Reference };

class LinearInputObserver;  // runtime-check/method_executor.h

// "fast" or "reference"; throws pte::Error naming the accepted values otherwise.
ExecutorKind parse_executor_kind(std::string_view name);
const char* executor_kind_name(ExecutorKind kind);

struct ExecutorOptions {
  ExecutorKind kind = ExecutorKind::Fast;
  size_t threads = 0;  // fast executor: pool threads (0: the configured thread count)
  // Fast executor: the kernels' CPU variant by name ("portable", "avx2", "avx512"); empty: the best
  // this CPU supports.
  std::string cpu_variant;
  // Reference executor: sees every linear's input (calibration); not owned. Null: none.
  LinearInputObserver* linear_observer = nullptr;
};

class MethodBackend {
 public:
  virtual ~MethodBackend() = default;
  virtual const MethodGraph& graph() const = 0;
  // Runs one call on `inputs` (IOSpec order). Only the first `rows` token rows are real: rows past
  // them are padding that the runner's causal mask keeps from the real rows, and an executor may
  // skip them (their outputs are then unspecified). Returns the outputs in IOSpec order as float32
  // views, valid until the next call.
  virtual std::span<const std::span<const float>> run(std::span<const Tensor* const> inputs, int64_t rows) = 0;
};

// Shared state of the fast executor's methods (one thread pool for all of them).
class ExecutorResources;
std::shared_ptr<ExecutorResources> make_executor_resources(const ExecutorOptions& options);

std::unique_ptr<MethodBackend> make_method_backend(const LoadedProgram& program, std::string_view method,
                                                   const ExecutorOptions& options,
                                                   const std::shared_ptr<ExecutorResources>& resources);

}  // namespace pte::runtime
