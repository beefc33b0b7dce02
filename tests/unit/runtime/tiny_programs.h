#pragma once
// Tiny programs for the runtime tests, small enough to check by hand.
#include <string>
#include <vector>

#include "tests/unit/runtime/pte_test_writer.h"

namespace pte::testing {

// "Ring model": one layer, one kv head, head_dim 2, vocab 16, T tokens per call,
// C = max_context_len - T cache slots. Token t embeds to [t, 1]. q is zero, so attention
// weighs every visible key equally; k = rope(embedding) with freqs_cos row p = 10 + p and
// freqs_sin = 0, so k = [t (10 + p), 10 + p] records the position; v = [t, 1].
// logits[0] = mean of the visible tokens, logits[1] = 1, the other logits 0.
struct RingModelOptions {
  DType dtype = DType::F32;
  int64_t input_len = 3;
  int64_t max_context_len = 8;
};
PteWriter ring_model(const RingModelOptions& options = {});

// "Tiny LM": a real (if small) attention model with non-trivial weights, to compare methods
// of the same weights exactly. V = 12, dim 4, 2 query heads and 1 kv head of head_dim 2,
// `layers` layers of x + wo(attention(rope(wq x), rope(wk x), wv x)), then an output linear.
// RoPE tables are cos/sin(0.3 p). Single-method: `forward` (Full, T = input_len,
// C = max_context_len - T). Multifunction: `forward` (Decode, T = 1) and `prefill` (Prefill,
// T = input_len), both C = max_context_len - 1, with input last_valid_token_pos (index 4 + 2L)
// feeding select_row before the output linear, and decode_/prefill_ metadata keys.
// Each adapter NAME adds the same methods (`NAME`, or `NAME_forward` / `NAME_prefill`) whose
// q projection is add(wq x, B (A x), alpha = adapter_scale), with rank-2 A and B of its own.
// A `methods` Text entry describes every method as the exporter does.
struct TinyLmOptions {
  int64_t input_len = 4;
  int64_t max_context_len = 24;
  int64_t layers = 2;
  bool multifunction = false;
  int64_t decode_cache_len = 0;  // multifunction: 0 = max_context_len - 1 (another value: a broken pair)
  std::vector<std::string> adapters;
  double adapter_scale = 0.75;
};
PteWriter tiny_lm(const TinyLmOptions& options = {});

// A fresh path in the test temp directory.
std::string temp_file(const std::string& name);

}  // namespace pte::testing
