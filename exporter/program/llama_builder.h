#pragma once
// Builds the static Llama program of SPEC §2 from a model description (params.json or
// config.json) and a checkpoint in its tensor layout, with the
// methods of SPEC §3: `forward` (T = input_len, full logits, C = max_context_len - input_len),
// or with --multifunction `forward` (T = 1) and `prefill` (T = input_len), both with
// C = max_context_len - 1 and last-token logits; plus the same methods per LoRA adapter
// (`NAME`, or `NAME_forward` / `NAME_prefill`), whose targeted linears add scale · B (A x).
// Also the weight recipes (cast to the export dtype) and the runner metadata of SPEC §4.
// Every tensor the model needs is checked for presence, dtype and shape before anything is
// computed.
#include <vector>

#include "exporter/adapter/lora_adapter.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/model/model_description.h"
#include "exporter/program/export_options.h"
#include "exporter/program/program.h"

namespace pte {

Program build_llama_program(const ModelDescription& model, const Checkpoint& checkpoint,
                            const ExportOptions& options, const std::vector<LoraAdapter>& adapters = {});

}  // namespace pte
