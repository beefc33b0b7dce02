#pragma once
// A PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json), read and validated
// against the base model (SPEC §8). Output of a targeted linear: W x + scale · B (A x), with
// scale = lora_alpha / r, or lora_alpha / sqrt(r) when use_rslora is true.
// Every problem is a pte::Error naming the file and the field or tensor.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exporter/checkpoint/checkpoint.h"
#include "exporter/checkpoint/model_params.h"
#include "exporter/program/export_options.h"

namespace pte {

enum class LinearModule { WQ, WK, WV, WO, W1, W2, W3 };

// "attention.wq", ..., "feed_forward.w3": the Meta module under layers.N.
const char* meta_module_name(LinearModule m);

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
LoraAdapter read_lora_adapter(const AdapterSpec& spec, const ModelParams& params);

}  // namespace pte
