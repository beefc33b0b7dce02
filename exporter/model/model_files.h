#pragma once
// Which file describes the model, and the description it gives: `-p FILE` when given, else the
// config.json or params.json of a checkpoint folder. A config.json (it names `architectures`)
// is read as Hugging Face, anything else as a Meta params.json.
#include <cstdint>
#include <string>

#include "exporter/model/model_description.h"

namespace pte {

// Throws pte::Error when there is no -p and the checkpoint is not a folder with a config.
std::string find_model_config(const std::string& checkpoint, const std::string& params);

ModelDescription read_model_description(const std::string& config_path, int64_t max_context_len);

}  // namespace pte
