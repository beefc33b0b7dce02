#pragma once
// Weight-only quantization passes (SPEC §6). Each replaces a float weight constant by a
// quantized one (codes + scales, computed by the weight recipe in the model dtype), leaving the
// operator as it is: `linear` and `embedding` accept quantized constants (FORMAT.md §5).
// Invariants after the passes: every linear weight is in the mode of its plan entry (the first
// --quant pattern matching its Meta module name, else --linear_quantize): c4w int4 with one
// scale per output row, b4w int4 with one per 32 inputs (linears whose input size is not a
// multiple of 32 stay float and are listed in the log), c8w int8 with one scale per output row,
// none float; the embedding table is int8/int4 per -E; norm weights and
// everything else (LoRA A and B included) stay float. A weight shared by two operators (tied embedding and output
// head) is quantized separately for each use.
#include "passes/pass.h"

namespace pte {

extern const Pass kQuantizeLinearsPass;
extern const Pass kQuantizeEmbeddingPass;

}  // namespace pte
