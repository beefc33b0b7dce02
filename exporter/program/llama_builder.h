#pragma once
// Builds the static Llama program of SPEC §2 from params.json and a checkpoint: one method
// `forward` (T = input_len, full logits, C = max_context_len - input_len), the weight recipes
// (cast to the export dtype) and the runner metadata of SPEC §4. Every tensor the model needs
// is checked for presence, dtype and shape before anything is computed.
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/checkpoint/model_params.h"
#include "exporter/program/export_options.h"
#include "exporter/program/program.h"

namespace pte {

Program build_llama_program(const ModelParams& params, const Checkpoint& checkpoint,
                            const ExportOptions& options);

}  // namespace pte
