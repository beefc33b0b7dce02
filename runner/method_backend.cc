#include "runner/method_backend.h"

#include "common/error.h"
#include "runtime-check/method_executor.h"
#include "runtime-check/parallel.h"
#include "runtime-fast/prepared_method.h"

namespace pte::runtime {

ExecutorKind parse_executor_kind(std::string_view name) {
  if (name == "fast") return ExecutorKind::Fast;
  if (name == "reference") return ExecutorKind::Reference;
  throw Error("--executor: '" + std::string(name) + "' is not an executor; expected fast or reference");
}

const char* executor_kind_name(ExecutorKind kind) { return kind == ExecutorKind::Fast ? "fast" : "reference"; }

class ExecutorResources {
 public:
  explicit ExecutorResources(const ExecutorOptions& o)
      : pool(o.threads ? o.threads : thread_count()), variant(fast::best_cpu_variant()) {
    if (o.cpu_variant.empty()) return;
    for (fast::CpuVariant v : {fast::CpuVariant::Portable, fast::CpuVariant::Avx2, fast::CpuVariant::Avx512})
      if (o.cpu_variant == fast::variant_name(v)) {
        variant = v;
        return;
      }
    throw Error("cpu variant '" + o.cpu_variant + "' is unknown; expected portable, avx2 or avx512");
  }
  ThreadPool pool;
  fast::CpuVariant variant;
};

namespace {

class ReferenceBackend : public MethodBackend {
 public:
  ReferenceBackend(const LoadedProgram& program, std::string_view method, LinearInputObserver* observer)
      : executor_(program, method) {
    executor_.set_linear_observer(observer);
  }
  const MethodGraph& graph() const override { return executor_.graph(); }
  std::span<const std::span<const float>> run(std::span<const Tensor* const> inputs, int64_t) override {
    outputs_ = executor_.run(inputs);
    views_.clear();
    for (const auto& t : outputs_) views_.emplace_back(t->floats);
    return views_;
  }

 private:
  MethodExecutor executor_;
  std::vector<std::shared_ptr<const Tensor>> outputs_;
  std::vector<std::span<const float>> views_;
};

class FastBackend : public MethodBackend {
 public:
  FastBackend(const LoadedProgram& program, std::string_view method, std::shared_ptr<ExecutorResources> resources)
      : resources_(std::move(resources)), graph_(program, method), prepared_(graph_, resources_->pool, resources_->variant) {}
  const MethodGraph& graph() const override { return graph_; }
  std::span<const std::span<const float>> run(std::span<const Tensor* const> inputs, int64_t rows) override {
    return prepared_.run(inputs, rows);
  }

 private:
  std::shared_ptr<ExecutorResources> resources_;
  MethodGraph graph_;
  fast::PreparedMethod prepared_;
};

}  // namespace

std::shared_ptr<ExecutorResources> make_executor_resources(const ExecutorOptions& options) {
  return options.kind == ExecutorKind::Fast ? std::make_shared<ExecutorResources>(options) : nullptr;
}

std::unique_ptr<MethodBackend> make_method_backend(const LoadedProgram& program, std::string_view method,
                                                   const ExecutorOptions& options,
                                                   const std::shared_ptr<ExecutorResources>& resources) {
  if (options.kind == ExecutorKind::Reference) return std::make_unique<ReferenceBackend>(program, method, options.linear_observer);
  return std::make_unique<FastBackend>(program, method, resources ? resources : make_executor_resources(options));
}

}  // namespace pte::runtime
