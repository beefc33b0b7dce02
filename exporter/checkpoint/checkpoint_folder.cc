#include "exporter/checkpoint/checkpoint_folder.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "exporter/checkpoint/sharded_checkpoint.h"

namespace pte {
namespace fs = std::filesystem;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

CheckpointFolder inspect_checkpoint_folder(const std::string& dir) {
  const fs::path root(dir);
  CheckpointFolder f;
  const bool single = is_file(root / "model.safetensors");
  const bool index = is_file(root / "model.safetensors.index.json");
  const bool meta = is_file(root / "consolidated.00.pth");
  if (single && index)
    throw Error(dir + ": holds both model.safetensors and model.safetensors.index.json; give one of them with -c");
  if ((single || index) && meta)
    throw Error(dir + ": holds both Hugging Face weights (model.safetensors) and Meta weights (consolidated.00.pth); "
                      "give one of them with -c");
  if (index) {
    f.weights = (root / "model.safetensors.index.json").string();
  } else if (single) {
    f.weights = (root / "model.safetensors").string();
  } else if (meta) {
    if (is_file(root / "consolidated.01.pth"))
      throw Error(dir + ": consolidated.01.pth: tensor-parallel Meta checkpoints (several consolidated.NN.pth) "
                        "are not supported; merge them into one file first");
    f.weights = (root / "consolidated.00.pth").string();
  } else {
    std::string hint = is_file(root / "pytorch_model.bin") || is_file(root / "pytorch_model.bin.index.json")
                           ? " (pytorch_model.bin is not read: convert it to safetensors)"
                           : "";
    throw Error(dir + ": no checkpoint found: expected model.safetensors, model.safetensors.index.json or "
                      "consolidated.00.pth" + hint);
  }
  const char* config = (single || index) ? "config.json" : "params.json";
  if (is_file(root / config)) f.config = (root / config).string();
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (e.path() == fs::path(f.weights) || e.path() == fs::path(f.config)) continue;
    f.ignored.push_back(name);
  }
  std::sort(f.ignored.begin(), f.ignored.end());
  return f;
}

std::unique_ptr<Checkpoint> open_checkpoint_folder(const std::string& dir) {
  const CheckpointFolder f = inspect_checkpoint_folder(dir);
  std::unique_ptr<Checkpoint> checkpoint;
  std::vector<std::string> shards;
  if (f.weights.ends_with(".index.json")) {
    std::unique_ptr<ShardedCheckpoint> sharded = open_sharded_checkpoint(f.weights);
    shards = sharded->shard_names();
    checkpoint = std::move(sharded);
  } else {
    checkpoint = open_checkpoint(f.weights);
  }
  std::vector<std::string> ignored;
  for (const std::string& name : f.ignored)
    if (std::find(shards.begin(), shards.end(), name) == shards.end()) ignored.push_back(name);
  if (!ignored.empty()) {
    std::string list;
    for (const std::string& n : ignored) list += (list.empty() ? "" : ", ") + n;
    checkpoint->add_note(dir + ": files not read by the export: " + list);
  }
  return checkpoint;
}

}  // namespace pte
