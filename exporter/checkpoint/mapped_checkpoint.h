#pragma once
// The Checkpoint every reader returns: it owns the memory map its views point into and, for
// the rare zip entry that is compressed, the inflated copy of that entry.
#include <memory>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "exporter/checkpoint/checkpoint.h"

namespace pte {

class MappedCheckpoint final : public Checkpoint {
 public:
  explicit MappedCheckpoint(std::unique_ptr<MappedFile> file);

  const MappedFile& file() const { return *file_; }
  void release(const TensorView& view) const override;
  using Checkpoint::add_tensor;
  using Checkpoint::add_unread;
  // Keeps `bytes` alive as long as the checkpoint and returns where they now live.
  const uint8_t* keep(std::vector<uint8_t> bytes);

 private:
  std::unique_ptr<MappedFile> file_;
  std::vector<std::vector<uint8_t>> owned_buffers_;
};

}  // namespace pte
