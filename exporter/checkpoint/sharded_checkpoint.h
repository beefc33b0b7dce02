#pragma once
// A checkpoint split into shards by a Hugging Face index (model.safetensors.index.json:
// {"metadata": {...}, "weight_map": {tensor: shard file}}). Each shard is opened and
// memory-mapped on its own; their views form one Checkpoint, and release() goes to the shard
// that holds the view, so streaming keeps its bounded memory whatever the number of shards.
// The index and the shards are cross-checked both ways: a shard file missing, a tensor the
// index names that its shard lacks, a tensor present in two shards, and a tensor of a shard
// that the index does not list are each an error naming the index, the shard and the tensor.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exporter/checkpoint/checkpoint.h"

namespace pte {

class ShardedCheckpoint final : public Checkpoint {
 public:
  explicit ShardedCheckpoint(std::string index_path) : Checkpoint(std::move(index_path)) {}
  void release(const TensorView& view) const override;
  // Shard file names as the index lists them, sorted.
  std::vector<std::string> shard_names() const;
  // The index, then each shard's path.
  std::vector<std::string> files() const override;

 private:
  friend std::unique_ptr<ShardedCheckpoint> open_sharded_checkpoint(const std::string& index_path);
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Checkpoint>> shards_;
  std::map<std::string, size_t> shard_of_;  // tensor name -> index into shards_
};

std::unique_ptr<ShardedCheckpoint> open_sharded_checkpoint(const std::string& index_path);

}  // namespace pte
