#include "exporter/checkpoint/mapped_checkpoint.h"

namespace pte {

MappedCheckpoint::MappedCheckpoint(std::unique_ptr<MappedFile> file)
    : Checkpoint(file->path()), file_(std::move(file)) {}

const uint8_t* MappedCheckpoint::keep(std::vector<uint8_t> bytes) {
  owned_buffers_.push_back(std::move(bytes));  // moving a vector keeps its data pointer
  return owned_buffers_.back().data();
}

}  // namespace pte

namespace pte {

namespace {

// The bytes a view reads: its own span when contiguous, else its whole storage.
std::pair<const uint8_t*, size_t> byte_range(const TensorView& view) {
  const size_t element = element_size(view.dtype);
  if (view.is_contiguous() && element)
    return {view.storage + view.offset * static_cast<int64_t>(element), static_cast<size_t>(view.numel()) * element};
  return {view.storage, static_cast<size_t>(view.storage_bytes)};
}

}  // namespace

void MappedCheckpoint::release(const TensorView& view) const {
  auto [data, size] = byte_range(view);
  file_->release(data, size);
}

}  // namespace pte
