#include "exporter/checkpoint/torch_state_dict.h"

#include <unordered_map>

#include "common/error.h"

namespace pte {

namespace {

using Kind = PickleValue::Kind;

bool has_tensor_values(const PickleValue& dict) {
  for (size_t i = 1; i < dict.items.size(); i += 2)
    if (dict.items[i]->kind == Kind::Tensor) return true;
  return false;
}

std::string top_level_keys(const PickleValue& dict) {
  std::string keys;
  size_t listed = 0;
  for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    if (!dict.items[i]->is_string()) continue;
    if (listed == 8) return keys + ", ...";
    keys += (listed++ ? ", '" : "'") + dict.items[i]->text + "'";
  }
  return keys.empty() ? "none" : keys;
}

// The dict holding the tensors; notes where it was found when it is nested.
const PickleValue& find_state_dict(const PickleValue& root, MappedCheckpoint& checkpoint) {
  const std::string& path = checkpoint.path();
  if (!root.is_dict())
    throw Error(path + ": the saved object is a " + kind_name(root.kind) +
                ", expected a dict of tensors (a state dict)");
  if (has_tensor_values(root)) return root;
  for (const char* key : {"model", "state_dict"}) {
    const PickleValue* nested = root.get(key);
    if (nested && nested->is_dict() && has_tensor_values(*nested)) {
      checkpoint.add_note(std::string("state dict found under '") + key + "'");
      return *nested;
    }
  }
  throw Error(path +
              ": no tensors at the top level or under 'model' or 'state_dict' (top-level keys: " +
              top_level_keys(root) + ")");
}

// Offset one past the last element the view touches, or 0 for an empty view; saturates at
// 2^64 (no storage is that large). Each term is below 2^126, so the sum cannot overflow.
unsigned __int128 view_end(const TensorRecord& t) {
  const unsigned __int128 saturated = static_cast<unsigned __int128>(1) << 64;
  unsigned __int128 last = static_cast<uint64_t>(t.storage_offset);
  for (size_t d = 0; d < t.size.size(); ++d) {
    if (t.size[d] == 0) return 0;
    last += static_cast<unsigned __int128>(static_cast<uint64_t>(t.size[d] - 1)) *
            static_cast<uint64_t>(t.stride[d]);
    if (last >= saturated) last = saturated;
  }
  return last + 1;
}

std::string join(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

TensorView make_view(const std::string& name, const TensorRecord& record,
                     const StorageResolver& resolve, const std::string& path) {
  const StorageRef& storage = *record.storage->storage;
  const StorageBytes bytes = resolve(storage, name);
  const uint64_t esize = storage.type->element_size;
  const uint64_t numel = storage.is_view ? storage.view_numel : storage.numel;
  if (numel > bytes.size / esize)
    throw Error(path + ": tensor '" + name + "': storage '" + storage.key + "' has " +
                std::to_string(bytes.size) + " bytes, expected at least " + std::to_string(numel) +
                " elements of " + std::to_string(esize) + " bytes");
  unsigned __int128 elements = 1;
  for (int64_t d : record.size) {
    elements *= static_cast<uint64_t>(d);
    // Only zero strides (expanded views) can make a view larger than its storage; bound it
    // so that numel() * element size never overflows.
    if (elements > (uint64_t{1} << 62) / esize)
      throw Error(path + ": tensor '" + name + "': size " + join(record.size) +
                  " has too many elements");
  }
  const unsigned __int128 end = view_end(record);
  if (end > numel)
    throw Error(
        path + ": tensor '" + name + "': size " + join(record.size) + " with stride " +
        join(record.stride) + " at offset " + std::to_string(record.storage_offset) + " needs " +
        (end > UINT64_MAX ? std::string("over 2^64") : std::to_string(static_cast<uint64_t>(end))) +
        " elements but storage '" + storage.key + "' has " + std::to_string(numel));
  TensorView view;
  view.name = name;
  view.dtype = storage.type->dtype;
  view.shape = record.size;
  view.strides = record.stride;
  view.storage = bytes.data;
  view.storage_bytes = numel * esize;
  view.offset = record.storage_offset;
  return view;
}

}  // namespace

void add_state_dict_tensors(const PickleValue& root, const StorageResolver& resolve,
                            MappedCheckpoint& checkpoint) {
  const std::string& path = checkpoint.path();
  const PickleValue& dict = find_state_dict(root, checkpoint);

  // Python semantics for a key set twice: first position, last value.
  std::vector<std::string> order;
  std::unordered_map<std::string, const PickleValue*> latest;
  for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const PickleValue& key = *dict.items[i];
    const PickleValue* value = dict.items[i + 1];
    if (!key.is_string()) {
      if (value->kind == Kind::Tensor)
        throw Error(path + ": a tensor is stored under a " + kind_name(key.kind) +
                    " key, expected a string name");
      continue;
    }
    auto [it, inserted] = latest.insert_or_assign(key.text, value);
    if (inserted) order.push_back(key.text);
  }

  size_t ignored = 0;
  std::string first_ignored;
  for (const std::string& name : order) {
    const PickleValue* value = latest[name];
    if (value->kind != Kind::Tensor) {
      if (ignored++ == 0) first_ignored = name;
      continue;
    }
    const TensorRecord& record = *value->tensor;
    const TorchScalarType& type = *record.storage->storage->type;
    if (type.dtype == DType::Invalid) {
      checkpoint.add_unread(name, type.dtype_name);
      continue;
    }
    checkpoint.add_tensor(make_view(name, record, resolve, path));
  }
  if (ignored)
    checkpoint.add_note("ignored " + std::to_string(ignored) + " state dict entr" +
                        (ignored == 1 ? "y" : "ies") + " that are not tensors (first: '" +
                        first_ignored + "')");
}

}  // namespace pte
