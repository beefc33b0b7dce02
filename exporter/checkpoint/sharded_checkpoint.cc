#include "exporter/checkpoint/sharded_checkpoint.h"

#include <filesystem>
#include <set>

#include "common/error.h"
#include "common/json_input.h"

namespace pte {

void ShardedCheckpoint::release(const TensorView& view) const {
  auto it = shard_of_.find(view.name);
  if (it != shard_of_.end()) shards_[it->second]->release(view);
}

std::vector<std::string> ShardedCheckpoint::shard_names() const { return names_; }

std::vector<std::string> ShardedCheckpoint::files() const {
  std::vector<std::string> out = {path_};
  for (const auto& shard : shards_) out.push_back(shard->path());
  return out;
}

namespace {

// A shard is named by a plain file name next to the index: no directories, nothing hidden.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name.find('\\') == std::string::npos &&
         name != "." && name != ".." && name[0] != '.';
}

}  // namespace

std::unique_ptr<ShardedCheckpoint> open_sharded_checkpoint(const std::string& index_path) {
  const nlohmann::json index = parse_untrusted_json(read_small_file(index_path, 64u << 20), index_path).value;
  auto fail = [&](const std::string& what) { throw Error(index_path + ": " + what); };
  if (!index.is_object()) fail("expected a JSON object with 'weight_map'");
  for (const auto& [key, value] : index.items())
    if (key != "metadata" && key != "weight_map") fail("unknown key '" + key + "' (expected metadata, weight_map)");
  auto map_it = index.find("weight_map");
  if (map_it == index.end() || !map_it->is_object()) fail("key 'weight_map' must be an object of tensor -> shard file");
  if (map_it->empty()) fail("key 'weight_map' is empty");

  std::map<std::string, std::string> listed;  // tensor -> shard file
  std::set<std::string> files;
  for (const auto& [tensor, file] : map_it->items()) {
    if (!file.is_string()) fail("tensor '" + tensor + "' maps to " + file.dump() + ", expected a shard file name");
    const std::string name = file.get<std::string>();
    if (!is_plain_file_name(name))
      fail("tensor '" + tensor + "' maps to '" + name + "', expected a file name in the index's folder");
    listed[tensor] = name;
    files.insert(name);
  }

  auto checkpoint = std::make_unique<ShardedCheckpoint>(index_path);
  const std::filesystem::path dir = std::filesystem::path(index_path).parent_path();
  std::map<std::string, std::string> found;  // tensor -> shard that holds it
  for (const std::string& name : files) {
    const std::string path = (dir / name).string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      fail("shard '" + name + "' (listed for tensor '" +
           [&] { for (const auto& [t, f] : listed) if (f == name) return t; return std::string(); }() +
           "') does not exist");
    std::unique_ptr<Checkpoint> shard = open_checkpoint(path);
    for (const TensorView& t : shard->tensors()) {
      auto [it, fresh] = found.emplace(t.name, name);
      if (!fresh) fail("tensor '" + t.name + "' is present in two shards, '" + it->second + "' and '" + name + "'");
    }
    checkpoint->shards_.push_back(std::move(shard));
    checkpoint->names_.push_back(name);
  }
  for (size_t number = 0; number < checkpoint->shards_.size(); ++number) {
    const Checkpoint& shard = *checkpoint->shards_[number];
    const std::string& name = checkpoint->names_[number];
    for (const TensorView& t : shard.tensors()) {
      auto l = listed.find(t.name);
      if (l == listed.end()) fail("shard '" + name + "' holds tensor '" + t.name + "', which the index does not list");
      if (l->second != name)
        fail("tensor '" + t.name + "' is listed in shard '" + l->second + "' but found in shard '" + name + "'");
      checkpoint->add_tensor(t);
      checkpoint->shard_of_[t.name] = number;
    }
    for (const std::string& note : shard.notes()) checkpoint->notes_.push_back(name + ": " + note);
  }
  for (const auto& [tensor, name] : listed)
    if (!found.count(tensor)) fail("tensor '" + tensor + "' is listed in shard '" + name + "', which does not contain it");
  checkpoint->notes_.push_back("read " + std::to_string(files.size()) + " shard(s) listed in " + index_path);
  return checkpoint;
}

}  // namespace pte
