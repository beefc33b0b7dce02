#pragma once
// A PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json), read and validated
// against the base model (SPEC §8). Output of a targeted linear: W x + scale · B (A x), with
// scale = lora_alpha / r, or lora_alpha / sqrt(r) when use_rslora is true.
// Every problem is a pte::Error naming the file and the field or tensor.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exporter/adapter/adapter_spec.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/model/linear_module.h"
#include "exporter/model/model_description.h"

namespace pte {

struct LoraTarget {
  int64_t layer = 0;
  LinearModule module = LinearModule::WQ;
  std::string a_tensor;  // name in the adapter checkpoint, shape [r, in]
  std::string b_tensor;  // name in the adapter checkpoint, shape [out, r]
  int64_t in = 0, out = 0;
};

struct LoraAdapter {
  std::string name;
  std::string checkpoint_path, config_path;
  int64_t rank = 0;
  double alpha = 0;
  bool use_rslora = false;
  double scale = 0;
  std::vector<std::string> target_modules;  // as written in the config
  std::vector<LoraTarget> targets;           // sorted by (layer, module)
  std::unique_ptr<Checkpoint> checkpoint;
};

// Checks names before anything is read: identifiers ([A-Za-z_][A-Za-z0-9_]*), unique, and not
// colliding with another method: forward, prefill, NAME, NAME_forward, NAME_prefill.
void validate_adapter_names(const std::vector<AdapterSpec>& adapters, bool multifunction);

// Reads the config and the checkpoint and maps every tensor to a base linear.
LoraAdapter read_lora_adapter(const AdapterSpec& spec, const ModelDescription& model);

}  // namespace pte
