#include "exporter/checkpoint/pth_legacy_checkpoint.h"

#include <unordered_map>

#include "common/error.h"
#include "exporter/checkpoint/mapped_checkpoint.h"
#include "exporter/checkpoint/pickle_reader.h"
#include "exporter/checkpoint/torch_state_dict.h"

namespace pte {

namespace {

using Kind = PickleValue::Kind;

// 0x1950a86a20f9469cfc6c as the little-endian bytes LONG1 stores.
constexpr uint8_t kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kProtocolVersion = 1001;

struct LegacyStorage {
  const TorchScalarType* type = nullptr;
  const uint8_t* data = nullptr;
  uint64_t numel = 0;  // as written before the bytes
  bool located = false;
};

class LegacyReader {
 public:
  explicit LegacyReader(MappedCheckpoint& checkpoint)
      : checkpoint_(checkpoint), path_(checkpoint.path()), file_(checkpoint.file()) {}

  void read() {
    const PickleDocument magic = next_pickle("magic number", PersistentIds::None);
    const PickleValue& m = *magic.root();
    if (m.kind != Kind::BigInt ||
        m.text != std::string(reinterpret_cast<const char*>(kMagic), sizeof kMagic))
      throw Error(path_ +
                  ": starts with a pickle but not with torch.save's magic number "
                  "(expected a torch.save legacy file)");
    const PickleDocument version = next_pickle("protocol version", PersistentIds::None);
    if (version.root()->kind != Kind::Int || version.root()->integer != kProtocolVersion)
      throw Error(path_ + ": legacy protocol version is not " + std::to_string(kProtocolVersion));
    const PickleDocument sys_info = next_pickle("sys_info", PersistentIds::None);
    const PickleValue* little = sys_info.root()->get("little_endian");
    if (little && (little->kind != Kind::Bool || !little->boolean))
      throw Error(path_ +
                  ": sys_info says the file is not little-endian, expected little_endian True");
    const PickleDocument object = next_pickle("object", PersistentIds::LegacyStorages);
    const PickleDocument keys = next_pickle("storage key list", PersistentIds::None);
    collect_storage_types(object);
    locate_storages(*keys.root());
    add_state_dict_tensors(
        *object.root(),
        [this](const StorageRef& storage, const std::string& tensor) {
          return storage_bytes(storage, tensor);
        },
        checkpoint_);
  }

 private:
  PickleDocument next_pickle(const std::string& what, PersistentIds ids) {
    PickleDocument doc =
        read_pickle(file_.data() + pos_, file_.size() - pos_,
                    path_ + ": " + what + " pickle (file byte " + std::to_string(pos_) + ")", ids);
    pos_ += doc.size();
    return doc;
  }

  void collect_storage_types(const PickleDocument& object) {
    for (const PickleValue* v : object.storages()) {
      const StorageRef& ref = *v->storage;
      LegacyStorage& s = storages_[ref.key];
      if (s.type && s.type != ref.type)
        throw Error(path_ + ": storage '" + ref.key + "' is referenced both as " +
                    s.type->storage_class + " and as " + ref.type->storage_class);
      s.type = ref.type;
    }
  }

  // After the key list, each listed storage is: u64 LE element count, then the elements.
  void locate_storages(const PickleValue& keys) {
    if (keys.kind != Kind::List)
      throw Error(path_ + ": storage key list is a " + kind_name(keys.kind) + ", expected a list");
    for (const PickleValue* key : keys.items) {
      if (!key->is_string())
        throw Error(path_ + ": storage key list holds a " + std::string(kind_name(key->kind)));
      auto it = storages_.find(key->text);
      if (it == storages_.end())
        throw Error(path_ + ": storage '" + key->text + "' is listed but no tensor refers to it");
      LegacyStorage& s = it->second;
      if (s.located) throw Error(path_ + ": storage '" + key->text + "' is listed twice");
      if (!file_.contains(pos_, 8))
        throw Error(path_ + ": truncated: storage '" + key->text +
                    "' has no element count at byte " + std::to_string(pos_));
      uint64_t numel = 0;
      for (int i = 7; i >= 0; --i) numel = numel << 8 | file_.data()[pos_ + static_cast<size_t>(i)];
      pos_ += 8;
      const uint64_t esize = s.type->element_size;
      if (numel > (file_.size() - pos_) / esize)
        throw Error(path_ + ": truncated: storage '" + key->text + "' at byte " +
                    std::to_string(pos_) + " declares " + std::to_string(numel) + " elements of " +
                    std::to_string(esize) + " bytes, only " + std::to_string(file_.size() - pos_) +
                    " bytes left");
      s.data = file_.data() + pos_;
      s.numel = numel;
      s.located = true;
      pos_ += static_cast<size_t>(numel * esize);
    }
  }

  StorageBytes storage_bytes(const StorageRef& ref, const std::string& tensor) {
    const LegacyStorage& s = storages_.at(ref.key);  // every ref's key was collected
    if (!s.located)
      throw Error(path_ + ": tensor '" + tensor + "': storage '" + ref.key +
                  "' is not in the file's storage list");
    const uint64_t esize = s.type->element_size;
    if (!ref.is_view) return {s.data, s.numel * esize};
    if (static_cast<uint64_t>(ref.view_offset) > s.numel ||
        static_cast<uint64_t>(ref.view_numel) > s.numel - static_cast<uint64_t>(ref.view_offset))
      throw Error(path_ + ": tensor '" + tensor + "': storage view [" +
                  std::to_string(ref.view_offset) + ", +" + std::to_string(ref.view_numel) +
                  ") lies outside storage '" + ref.key + "' of " + std::to_string(s.numel) +
                  " elements");
    return {s.data + static_cast<uint64_t>(ref.view_offset) * esize,
            static_cast<uint64_t>(ref.view_numel) * esize};
  }

  MappedCheckpoint& checkpoint_;
  const std::string& path_;
  const MappedFile& file_;
  size_t pos_ = 0;
  std::unordered_map<std::string, LegacyStorage> storages_;
};

}  // namespace

std::unique_ptr<Checkpoint> read_pth_legacy_checkpoint(std::unique_ptr<MappedFile> file) {
  auto checkpoint = std::make_unique<MappedCheckpoint>(std::move(file));
  LegacyReader(*checkpoint).read();
  return checkpoint;
}

}  // namespace pte
