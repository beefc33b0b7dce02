#pragma once
// Turns the unpickled object of a torch.save file into TensorViews: finds the state dict (the
// top-level dict, or the one under "model" or "state_dict"), skips entries that are not
// tensors, and checks every tensor's view against the bytes of its storage.
#include <cstdint>
#include <functional>
#include <string>

#include "exporter/checkpoint/mapped_checkpoint.h"
#include "exporter/checkpoint/pickle_value.h"

namespace pte {

struct StorageBytes {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
};

// Returns the bytes of a storage; throws pte::Error naming `tensor` when they are missing or
// fewer than the storage's numel needs. Called once per tensor.
using StorageResolver =
    std::function<StorageBytes(const StorageRef& storage, const std::string& tensor)>;

void add_state_dict_tensors(const PickleValue& root, const StorageResolver& resolve,
                            MappedCheckpoint& checkpoint);

}  // namespace pte
