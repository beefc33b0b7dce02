#pragma once
// Where the runner finds each input and output of a method: read from the file's metadata
// (mask_specs, kv_cache_specs, freqs_*_input_index, ...) and checked against the IOSpecs.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "runtime-load/loaded_program.h"
#include "runtime-load/method_graph.h"

namespace pte::runtime {

// The input/output indices the runner binds, and the model sizes.
struct RunnerLayout {
  struct Layer { size_t k_in, k_out, v_in, v_out; };
  int64_t input_len = 0;        // T
  int64_t cache_len = 0;        // C
  int64_t vocab_size = 0;       // V
  int64_t head_dim = 0;         // D
  int64_t kv_heads = 0;         // H
  int64_t max_context_len = 0;  // rows of the RoPE tables
  size_t tokens_input = 0, mask_input = 0, cos_input = 0, sin_input = 0, logits_output = 0;
  // The last_valid_token_pos input (multifunction methods): the method then returns one
  // logits row, [1, 1, V], the row of that position; otherwise [1, T, V].
  std::optional<size_t> last_pos_input;
  int64_t logits_rows = 0;  // T, or 1 with last_pos_input
  std::vector<Layer> layers;
};

// Per-method keys are read with the prefix of the method's role (decode_, prefill_; none for
// Full), e.g. decode_mask_specs; freqs_*_input_index fall back to the unprefixed key.
// Throws pte::Error (naming the file and method) when the metadata and the method disagree.
RunnerLayout resolve_runner_layout(const LoadedProgram& program, const MethodGraph& method);

}  // namespace pte::runtime
