#pragma once
// What one generation asks for (GenerationConfig), what it calls back per token, and what it
// reports (Generation, GenerationStats).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pte {

/// How one call of Generator::generate decodes. Decoding is greedy (the most likely token,
/// the lowest id on ties), so a generation is deterministic.
struct GenerationConfig {
  /// Tokens to generate at most.
  int64_t max_new_tokens = 64;
  /// Put BOS before a text prompt when the file's tokenizer metadata says so.
  bool add_bos = true;
  /// Stop after generating one of the file's (or the tokenizer's) end-of-sequence ids.
  bool stop_at_eos = true;
  /// Further ids after which generation stops.
  std::vector<int32_t> stop_ids;
};

/// Called once per generated token with its id and the text it completes (empty for a stop
/// token, and while a UTF-8 character is unfinished; empty without a tokenizer). Returning false
/// stops generation after this token (the stop condition of the caller).
using TokenCallback = std::function<bool(int32_t token, std::string_view text)>;

/// Figures of one generation.
struct GenerationStats {
  size_t prompt_tokens = 0;              ///< Tokens of the prompt (BOS included).
  size_t generated_tokens = 0;           ///< Tokens generated (a stop token included).
  double prefill_seconds = 0;            ///< Time to process the prompt.
  double decode_seconds = 0;             ///< Time of the decoding calls.
  double prefill_tokens_per_second = 0;  ///< prompt_tokens / prefill_seconds.
  double decode_tokens_per_second = 0;   ///< Decoding calls / decode_seconds.
  uint64_t peak_memory_bytes = 0;        ///< Peak resident memory of the process so far.
};

/// The result of one generation.
struct Generation {
  std::vector<int32_t> prompt_tokens;  ///< The prompt's ids (BOS included).
  std::vector<int32_t> tokens;         ///< The generated ids (a stop token included).
  /// The prompt followed by the generated text, without a final stop token (what `pte run`
  /// prints); empty without a tokenizer.
  std::string text;
  /// "max_new_tokens", "eos", "stop_id", "callback" or "context_full".
  std::string stop_reason;
  GenerationStats stats;  ///< Timings and memory.
};

}  // namespace pte
