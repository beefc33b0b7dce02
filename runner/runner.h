#pragma once
// The runner protocol of SPEC §9: caches, mask and RoPE rows are driven by the file's metadata
// (mask_specs, kv_cache_specs, freqs tables, ...) and the methods' I/O specs. A runner drives
// either one Full method (T tokens per call, the logits of every position), or a multifunction
// pair sharing caches, mask state and position: `prefill` (T = input_len) for prompt chunks and
// `forward` (decode, T = 1) for single tokens, each returning the logits row of the last real
// token (input last_valid_token_pos).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runner/method_backend.h"
#include "runner/runner_layout.h"

namespace pte::runtime {

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  std::vector<int32_t> stop_ids;  // generation stops after emitting one of these
  // Collect one logits row per token fed to the model. Methods that return only the last real
  // token's row (a prefill/decode pair) then get the prompt one token per call (through decode),
  // so that every position has its row.
  bool keep_logits = false;
};

// Called with each generated token, stop tokens included; returning false stops generation
// after that token (stop_reason "callback").
using TokenCallback = std::function<bool(int32_t)>;

struct Generation {
  std::vector<int32_t> tokens;  // the generated tokens (prompt excluded)
  std::vector<float> logits;    // [logits_rows, vocab] when keep_logits
  size_t logits_rows = 0;
  size_t prefill_tokens = 0, decode_calls = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  std::string stop_reason;  // "max_new_tokens", "stop_id", "callback" or "context_full"
};

// A name the runner accepts: a Full method (`full` set), or a base/adapter name whose
// `prefill` and `decode` methods form a pair: "forward" -> (prefill, forward),
// NAME -> (NAME_prefill, NAME_forward).
struct RunnableMethod {
  std::string name;
  std::string full, prefill, decode;
};
// In file order (the position of the Full method, or of the pair's decode method).
std::vector<RunnableMethod> runnable_methods(const LoadedProgram& program);

class Runner {
 public:
  // `name`: a Full method of that name if the file has one; else the pair of that base or
  // adapter name (see RunnableMethod). Throws pte::Error listing the runnable names otherwise,
  // or when the pair's methods do not share one cache layout.
  // `executor` selects the fast executor (default) or the reference one.
  Runner(const LoadedProgram& program, std::string_view name = "forward", const ExecutorOptions& executor = {});
  ~Runner();

  const std::string& name() const { return name_; }
  bool is_pair() const { return decode_ != nullptr; }
  // The Full method, or the prefill method of a pair (its T is the prompt chunk length).
  const RunnerLayout& layout() const { return primary_->layout; }
  const MethodGraph& graph() const { return primary_->backend->graph(); }
  // The decode method of a pair; nullptr for a Full method.
  const RunnerLayout* decode_layout() const { return decode_ ? &decode_->layout : nullptr; }
  const MethodGraph* decode_graph() const { return decode_ ? &decode_->backend->graph() : nullptr; }
  ExecutorKind executor_kind() const { return executor_.kind; }
  // The methods driven: {full} or {prefill, decode}.
  std::vector<std::string> method_names() const;
  // Calls each driven method received since construction (0 for other names), and the
  // method of the last call since the last reset ("" when none).
  size_t calls(std::string_view method) const;
  const std::string& last_method() const;
  int64_t position() const { return position_; }

  // Back to the empty state: zero caches, cache columns masked, position 0.
  void reset();
  // One call on 1..T real tokens at the current position (padded with token 0): a Full method
  // gets any chunk; a pair sends a single token to decode and 2..T tokens to prefill (with
  // last_valid_token_pos = n - 1). Returns the logits rows the method gives: all n real rows
  // [n, V] for full-logits methods, the last real token's row [1, V] for methods with a
  // last_valid_token_pos input. Then updates the caches, mask and position.
  // The rows stay valid until the next call. Caches are updated in place (the n new rows of
  // each layer); after the first calls a step allocates nothing.
  const std::vector<float>& step(std::span<const int32_t> tokens);
  // Lookahead verification, on a Full method (the logits of every row): one call on a tree of up
  // to T tokens at the current position. Row 0 continues the sequence; row r > 0 follows row
  // parents[r] < r (parents[0] = -1), sits at position + its depth and sees only its ancestors
  // among the rows. Returns the logits of every row [n, V]; the caches are not updated until
  // accept(path), which commits rows `path` (row 0, then a chain of children) as the next
  // positions. Keys are visited in position order either way, so a row computes what step()
  // would have computed for the same sequence.
  const std::vector<float>& step_tree(std::span<const int32_t> tokens, std::span<const int32_t> parents);
  void accept(std::span<const size_t> path);
  // Prompt in chunks of T (the last one partial), then greedy decoding (argmax, lowest index
  // on ties), one token per call. See GenerateOptions::keep_logits for pairs.
  Generation generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                      const TokenCallback& on_token = {});

  const Tensor& k_cache(size_t layer) const { return k_caches_.at(layer); }
  const Tensor& v_cache(size_t layer) const { return v_caches_.at(layer); }
  // The mask of the last call's method (of the Full or prefill method after a reset).
  const Tensor& mask() const { return (last_ ? last_ : primary_.get())->mask; }

 private:
  struct Bound {  // one method with its own per-call inputs
    Bound(const LoadedProgram& program, std::string_view method, const ExecutorOptions& options,
          const std::shared_ptr<ExecutorResources>& resources);
    const std::string& name() const { return backend->graph().name(); }
    std::unique_ptr<MethodBackend> backend;
    RunnerLayout layout;
    Tensor tokens, mask, cos, sin, last_pos;
    std::vector<const Tensor*> inputs;  // bound once: these buffers and the caches
    int64_t visible_columns = 0;        // cache columns of `mask` unmasked so far
    size_t calls = 0;
  };
  void check_pair() const;
  void reset_mask(Bound& b) const;
  void fill_freqs(const Bound& b, const Tensor& table, Tensor& input);
  // One call: tokens (padded), mask, RoPE rows (a tree when parents is not empty). Returns the
  // outputs, valid until the next call.
  std::span<const std::span<const float>> call(Bound& b, std::span<const int32_t> tokens,
                                               std::span<const int32_t> parents);
  // Writes `count` update rows of a call (rows[j], or j) into the caches at the next positions.
  void commit(const Bound& b, std::span<const std::span<const float>> outputs, size_t count, const size_t* rows);

  const LoadedProgram& program_;
  std::string name_;
  ExecutorOptions executor_;
  std::shared_ptr<ExecutorResources> resources_;
  std::unique_ptr<Bound> primary_, decode_;
  const Bound* last_ = nullptr;
  Tensor freqs_cos_table_, freqs_sin_table_;  // views of the metadata blobs
  std::vector<Tensor> k_caches_, v_caches_;
  int64_t position_ = 0;
  int64_t visible_cache_slots_ = 0;
  std::vector<float> logits_;  // the rows step() returns
  std::vector<int64_t> depths_;  // per row of a call: its offset from position_
  std::span<const std::span<const float>> tree_outputs_;
  size_t tree_rows_ = 0;  // rows of the step_tree call not yet accepted
  std::vector<int32_t> tree_parents_;
  std::vector<float> freqs_scratch_;
};

// Index of the largest value, the lowest index on ties.
size_t argmax(std::span<const float> row);

}  // namespace pte::runtime
