#pragma once
// A checkpoint folder as people download it. Hugging Face: config.json with model.safetensors,
// or with model.safetensors.index.json and its shards. Meta: params.json with
// consolidated.00.pth. Tokenizer, generation and documentation files are listed as ignored
// (tokenizers are read by `pte run`, not by the export); any other file is listed too.
#include <memory>
#include <string>
#include <vector>

#include "exporter/checkpoint/checkpoint.h"

namespace pte {

struct CheckpointFolder {
  std::string weights;  // model.safetensors, model.safetensors.index.json or consolidated.00.pth
  std::string config;   // config.json or params.json; "" when the folder has neither
  std::vector<std::string> ignored;  // other entries of the folder, by name
};

// Throws pte::Error naming the folder when it holds no checkpoint, or an ambiguous one.
CheckpointFolder inspect_checkpoint_folder(const std::string& dir);

// The folder's weights behind the Checkpoint interface, with the ignored files in its notes.
std::unique_ptr<Checkpoint> open_checkpoint_folder(const std::string& dir);

}  // namespace pte
