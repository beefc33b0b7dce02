#pragma once
// The runner protocol of SPEC §9 for a method that takes T tokens per call and returns the
// logits of every position: caches, mask and RoPE rows are driven by the file's metadata
// (mask_specs, kv_cache_specs, freqs tables, ...) and the method's I/O specs.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime-check/method_executor.h"
#include "runtime-check/runner_layout.h"

namespace pte::runtime {

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  std::vector<int32_t> stop_ids;  // generation stops after emitting one of these
  bool keep_logits = false;       // collect one logits row per token fed to the model
};

struct Generation {
  std::vector<int32_t> tokens;  // the generated tokens (prompt excluded)
  std::vector<float> logits;    // [logits_rows, vocab] when keep_logits
  size_t logits_rows = 0;
  size_t prefill_tokens = 0, decode_calls = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  std::string stop_reason;  // "max_new_tokens", "stop_id" or "context_full"
};

class Runner {
 public:
  Runner(const LoadedProgram& program, std::string_view method = "forward");

  const RunnerLayout& layout() const { return layout_; }
  const MethodExecutor& executor() const { return executor_; }
  int64_t position() const { return position_; }

  // Back to the empty state: zero caches, cache columns masked, position 0.
  void reset();
  // One call of the method on 1..T real tokens at the current position (padded with token 0).
  // Returns their logits rows, [tokens.size(), V]; then updates the caches, mask and position.
  std::vector<float> step(std::span<const int32_t> tokens);
  // Prompt in chunks of T, then greedy decoding (argmax, lowest index on ties).
  Generation generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                      const std::function<void(int32_t)>& on_token = {});

  const Tensor& k_cache(size_t layer) const { return k_caches_.at(layer); }
  const Tensor& v_cache(size_t layer) const { return v_caches_.at(layer); }
  const Tensor& mask() const { return mask_; }

 private:
  void fill_freqs(const Tensor& table, Tensor& input) const;

  const LoadedProgram& program_;
  MethodExecutor executor_;
  RunnerLayout layout_;
  Tensor freqs_cos_table_, freqs_sin_table_;  // views of the metadata blobs
  Tensor tokens_, mask_, cos_, sin_;
  std::vector<Tensor> k_caches_, v_caches_;
  int64_t position_ = 0;
  int64_t visible_cache_slots_ = 0;
};

// Index of the largest value, the lowest index on ties.
size_t argmax(std::span<const float> row);

}  // namespace pte::runtime
