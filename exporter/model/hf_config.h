#pragma once
// A Hugging Face config.json (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
// Qwen3ForCausalLM) read into the model description, tensor layout HuggingFace. Every key is
// used, listed in the notes as ignored because it does not change the math, or refused with a
// one-line error naming the file and the key; an unknown key is a (capped) warning.
// `max_context_len` is the export's: a sliding window shorter than it is an error.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "exporter/model/model_description.h"

namespace pte {

inline constexpr const char* kSupportedArchitectures =
    "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM";

ModelDescription read_hf_config(const std::string& path, int64_t max_context_len);

// The same from already parsed text (config.json's content).
ModelDescription describe_hf_config(const std::string& path, const nlohmann::json& config,
                                    int64_t max_context_len);

}  // namespace pte
