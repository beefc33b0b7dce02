#include "exporter/model/model_files.h"

#include <filesystem>

#include "common/error.h"
#include "common/json_input.h"
#include "exporter/checkpoint/checkpoint_folder.h"
#include "exporter/model/hf_config.h"

namespace pte {

std::string find_model_config(const std::string& checkpoint, const std::string& params) {
  if (!params.empty()) return params;
  std::error_code ec;
  if (!std::filesystem::is_directory(checkpoint, ec))
    throw Error(checkpoint + ": -p/--params is required when the checkpoint is a file (give params.json or config.json)");
  return inspect_checkpoint_folder(checkpoint).config;
}

ModelDescription read_model_description(const std::string& config_path, int64_t max_context_len) {
  const ParsedJson parsed = parse_untrusted_json(read_small_file(config_path, 1u << 20), config_path);
  if (parsed.value.is_object() && parsed.value.contains("architectures"))
    return describe_hf_config(config_path, parsed.value, max_context_len);
  if (parsed.value.is_object() && parsed.value.contains("hidden_size") && !parsed.value.contains("dim"))
    throw Error(config_path + ": key 'architectures' is required in a Hugging Face config.json but missing");
  return describe_meta_model(read_model_params(config_path), config_path);
}

}  // namespace pte
