#pragma once
// Tiny programs for the runtime tests, small enough to check by hand.
#include <string>

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

// A fresh path in the test temp directory.
std::string temp_file(const std::string& name);

}  // namespace pte::testing
