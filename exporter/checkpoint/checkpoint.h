#pragma once
// A checkpoint opened for reading: a named set of TensorViews over a memory map of the file.
// open_checkpoint() picks the reader from the file's leading bytes, not its name:
//   "PK\x03\x04"          -> torch.save zip archive (torch >= 1.6, both 1.x and 2.x layouts)
//   "\x80" (pickle PROTO) -> torch.save legacy format (_use_new_zipfile_serialization=False)
//   8-byte LE length + "{" -> safetensors (single file)
// A folder is opened as checkpoint_folder.h describes, a *.safetensors.index.json as shards.
// Every failure throws pte::Error with a one-line message naming the file and the problem.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/checkpoint/tensor_view.h"

namespace pte {

class Checkpoint {
 public:
  virtual ~Checkpoint() = default;
  const std::string& path() const { return path_; }
  // In the order the file lists them (state-dict order for .pth, header order for safetensors).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(std::string_view name) const;
  // Drops the pages behind `view` from the process's resident set once it has been read, so
  // that streaming a whole checkpoint does not grow the RSS to the checkpoint's size.
  virtual void release(const TensorView& view) const {}
  // Notes for the user about how the file was read (e.g. "state dict found under 'model'").
  const std::vector<std::string>& notes() const { return notes_; }
  void add_note(std::string note) { notes_.push_back(std::move(note)); }

 protected:
  explicit Checkpoint(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::vector<TensorView> tensors_;
  std::vector<std::string> notes_;
};

std::unique_ptr<Checkpoint> open_checkpoint(const std::string& path);

}  // namespace pte
