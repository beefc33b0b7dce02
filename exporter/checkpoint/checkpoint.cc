#include "exporter/checkpoint/checkpoint.h"

#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/mapped_file.h"
#include "exporter/checkpoint/checkpoint_folder.h"
#include "exporter/checkpoint/pth_checkpoint.h"
#include "exporter/checkpoint/pth_legacy_checkpoint.h"
#include "exporter/checkpoint/safetensors_checkpoint.h"
#include "exporter/checkpoint/sharded_checkpoint.h"

namespace pte {

const TensorView* Checkpoint::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const std::string* Checkpoint::unread_dtype(std::string_view name) const {
  auto it = unread_.find(name);
  return it == unread_.end() ? nullptr : &it->second;
}

void Checkpoint::claim_name(const std::string& name) {
  if (index_.count(name) || unread_.count(name))
    throw Error(path_ + ": tensor '" + name + "' appears twice");
}

void Checkpoint::add_tensor(TensorView view) {
  claim_name(view.name);
  index_.emplace(view.name, tensors_.size());
  tensors_.push_back(std::move(view));
}

void Checkpoint::add_unread(const std::string& name, const std::string& dtype) {
  claim_name(name);
  unread_.emplace(name, dtype);
  notes_.push_back("skipped tensor '" + name + "' of dtype " + dtype + " (no pte equivalent)");
}

namespace {

std::string leading_bytes_hex(const MappedFile& file) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < file.size() && i < 8; ++i) {
    if (i) hex += ' ';
    hex += digits[file.data()[i] >> 4];
    hex += digits[file.data()[i] & 15];
  }
  return hex;
}

}  // namespace

std::unique_ptr<Checkpoint> open_checkpoint(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return open_checkpoint_folder(path);
  if (path.ends_with(".safetensors.index.json")) return open_sharded_checkpoint(path);
  auto file = std::make_unique<MappedFile>(path);
  const uint8_t* p = file->data();
  const size_t n = file->size();
  if (n == 0) throw Error(path + ": file is empty, expected a checkpoint");
  if (n >= 4 && std::memcmp(p, "PK\x03\x04", 4) == 0) return read_pth_checkpoint(std::move(file));
  // Before the pickle test: a safetensors header length may start with byte 0x80; a legacy
  // torch.save file never has '{' at byte 8 (it starts with the pickled magic number).
  if (n >= 9 && p[8] == '{') return read_safetensors_checkpoint(std::move(file));
  if (p[0] == 0x80) return read_pth_legacy_checkpoint(std::move(file));
  throw Error(path + ": not a recognised checkpoint: expected a torch.save zip (PK\\x03\\x04), " +
              "a legacy torch.save pickle (\\x80) or safetensors (length + '{'), found bytes " +
              leading_bytes_hex(*file));
}

}  // namespace pte
