#pragma once
// Weight-only quantization passes (SPEC §6). Each replaces a float weight constant by a
// quantized one (codes + scales, computed by the weight recipe in the model dtype), leaving the
// operator as it is: `linear` and `embedding` accept quantized constants (FORMAT.md §5).
// Invariants after the passes: every linear weight is int4 (c4w: one scale per output row;
// b4w: one per 32 inputs, except linears whose input size is not a multiple of 32, which stay
// float and are listed in the log); the embedding table is int8/int4 per -E; norm weights and
// everything else (LoRA A and B included) stay float. A weight shared by two operators (tied embedding and output
// head) is quantized separately for each use.
#include "passes/pass.h"

namespace pte {

extern const Pass kQuantizeLinearsPass;
extern const Pass kQuantizeEmbeddingPass;

}  // namespace pte
