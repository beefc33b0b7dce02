// A PEFT LoRA adapter: adapter_config.json and adapter_model.safetensors, validated against a
// fixed base model (stories260K's shape). The input is the config, "\n--SAFETENSORS--\n", then
// the safetensors bytes.
#include <cstdint>

#include "common/error.h"
#include "exporter/adapter/lora_adapter.h"
#include "exporter/checkpoint/model_params.h"
#include "exporter/model/model_description.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pte::fuzz::TwoParts parts = pte::fuzz::split_input(data, size, "\n--SAFETENSORS--\n");
  pte::fuzz::MemoryFile config(parts.first, parts.first_size);
  pte::fuzz::MemoryFile weights(parts.second, parts.second_size);
  pte::ModelParams params;
  params.dim = 64;
  params.n_layers = 5;
  params.n_heads = 8;
  params.n_kv_heads = 4;
  params.head_dim = 8;
  params.hidden_dim = 172;
  params.vocab_size = 512;
  try {
    pte::read_lora_adapter({"a", weights.path(), config.path()}, pte::describe_meta_model(params));
  } catch (const pte::Error&) {
  }
  return 0;
}
