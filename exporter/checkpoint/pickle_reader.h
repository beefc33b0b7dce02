#pragma once
// An allowlist unpickler: it interprets the opcodes torch.save emits (protocol 2, and the
// protocol 3-5 opcodes that appear when a newer protocol is chosen) and the handful of globals a
// tensor state dict needs, and builds a PickleValue tree. It never imports or calls anything:
// any other global or opcode is an error naming it. Every size is checked against the bytes
// left and against fixed limits, so a malformed pickle ends in a pte::Error, never a crash or
// a hang.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "exporter/checkpoint/pickle_value.h"

namespace pte {

// Which persistent ids (BINPERSID) a pickle may contain.
enum class PersistentIds {
  None,            // e.g. the legacy format's header pickles
  ZipStorages,     // ('storage', storage_type, key, location, numel)
  LegacyStorages,  // ('storage', storage_type, key, location, numel, view_metadata)
};

class PickleDocument {
 public:
  PickleDocument() = default;
  PickleDocument(PickleDocument&&) = default;
  PickleDocument& operator=(PickleDocument&&) = default;

  const PickleValue* root() const { return root_; }
  // Bytes read, up to and including STOP.
  size_t size() const { return size_; }
  // Every storage created by a persistent id, in the order they appeared.
  const std::vector<const PickleValue*>& storages() const { return storages_; }

 private:
  friend class PickleReader;
  std::deque<PickleValue> arena_;
  const PickleValue* root_ = nullptr;
  size_t size_ = 0;
  std::vector<const PickleValue*> storages_;
};

// Reads one pickle from the start of `data` (trailing bytes are left for the caller).
// `where` starts every error message, e.g. "model.pth: archive/data.pkl".
PickleDocument read_pickle(const uint8_t* data, size_t size, const std::string& where,
                           PersistentIds persistent_ids);

}  // namespace pte
