#include "exporter/checkpoint/pth_checkpoint.h"

#include <algorithm>
#include <unordered_map>

#include "common/error.h"
#include "exporter/checkpoint/mapped_checkpoint.h"
#include "exporter/checkpoint/pickle_reader.h"
#include "exporter/checkpoint/torch_state_dict.h"
#include "exporter/checkpoint/zip_directory.h"
#include "exporter/checkpoint/zip_inflate.h"

namespace pte {

namespace {

// Compressed entries are copied into memory when inflated; this bounds the copies.
constexpr uint64_t kMaxInflatedBytes = uint64_t{1} << 30;

class PthReader {
 public:
  explicit PthReader(MappedCheckpoint& checkpoint)
      : checkpoint_(checkpoint), path_(checkpoint.path()), zip_(checkpoint.file()) {}

  void read() {
    const ZipEntry& pickle = find_data_pkl();
    prefix_ = pickle.name.substr(0, pickle.name.size() - std::string_view("data.pkl").size());
    check_byteorder();
    const StorageBytes pkl = entry_bytes(pickle);
    const PickleDocument doc = read_pickle(pkl.data, static_cast<size_t>(pkl.size),
                                           path_ + ": " + pickle.name, PersistentIds::ZipStorages);
    if (doc.size() != pkl.size)
      throw Error(path_ + ": " + pickle.name + ": " + std::to_string(pkl.size - doc.size()) +
                  " bytes after the pickle's STOP opcode");
    add_state_dict_tensors(
        *doc.root(),
        [this](const StorageRef& storage, const std::string& tensor) {
          return storage_bytes(storage, tensor);
        },
        checkpoint_);
  }

 private:
  const ZipEntry& find_data_pkl() const {
    const ZipEntry* found = nullptr;
    for (const ZipEntry& e : zip_.entries()) {
      const size_t slash = e.name.find('/');
      if (slash == std::string::npos || e.name.substr(slash + 1) != "data.pkl") continue;
      if (found)
        throw Error(path_ + ": zip holds both '" + found->name + "' and '" + e.name +
                    "', expected a single <prefix>/data.pkl");
      found = &e;
    }
    if (!found)
      throw Error(path_ +
                  ": zip archive has no <prefix>/data.pkl entry, expected a torch.save file");
    return *found;
  }

  void check_byteorder() {
    const ZipEntry* e = zip_.find(prefix_ + "byteorder");
    if (!e) return;
    const StorageBytes b = entry_bytes(*e);
    std::string order(reinterpret_cast<const char*>(b.data),
                      static_cast<size_t>(std::min<uint64_t>(b.size, 16)));
    for (char& c : order)
      if (c < 0x20 || c > 0x7e) c = '?';  // the message stays one printable line
    if (order != "little")
      throw Error(path_ + ": " + e->name + " is '" + order + "', expected 'little'");
  }

  // Stored entries are used in place; deflated ones are inflated once and kept.
  StorageBytes entry_bytes(const ZipEntry& e) {
    if (e.method == 0) return {checkpoint_.file().data() + e.data_offset, e.uncompressed_size};
    if (e.uncompressed_size > kMaxInflatedBytes - inflated_bytes_)
      throw Error(path_ + ": compressed entry '" + e.name + "' inflates to " +
                  std::to_string(e.uncompressed_size) + " bytes, over the " +
                  std::to_string(kMaxInflatedBytes) + "-byte limit for compressed entries " +
                  "(torch.save stores entries uncompressed; re-save the checkpoint)");
    inflated_bytes_ += e.uncompressed_size;
    return {checkpoint_.keep(inflate_zip_entry(checkpoint_.file(), e)), e.uncompressed_size};
  }

  StorageBytes storage_bytes(const StorageRef& storage, const std::string& tensor) {
    auto cached = storages_.find(storage.key);
    if (cached != storages_.end()) return cached->second;
    const std::string name = prefix_ + "data/" + storage.key;
    const ZipEntry* e = zip_.find(name);
    if (!e)
      throw Error(path_ + ": tensor '" + tensor + "': storage entry '" + name + "' is missing");
    const StorageBytes bytes = entry_bytes(*e);
    storages_.emplace(storage.key, bytes);
    return bytes;
  }

  MappedCheckpoint& checkpoint_;
  const std::string& path_;
  ZipDirectory zip_;
  std::string prefix_;
  uint64_t inflated_bytes_ = 0;
  std::unordered_map<std::string, StorageBytes> storages_;
};

}  // namespace

std::unique_ptr<Checkpoint> read_pth_checkpoint(std::unique_ptr<MappedFile> file) {
  auto checkpoint = std::make_unique<MappedCheckpoint>(std::move(file));
  PthReader(*checkpoint).read();
  return checkpoint;
}

}  // namespace pte
