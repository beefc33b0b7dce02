#pragma once
// A checkpoint opened for reading: a named set of TensorViews over a memory map of the file.
// open_checkpoint() picks the reader from the file's leading bytes, not its name:
//   "PK\x03\x04"          -> torch.save zip archive (torch >= 1.6, both 1.x and 2.x layouts)
//   "\x80" (pickle PROTO) -> torch.save legacy format (_use_new_zipfile_serialization=False)
//   8-byte LE length + "{" -> safetensors (single file)
// A folder is opened as checkpoint_folder.h describes, a *.safetensors.index.json as shards.
// Every failure throws pte::Error with a one-line message naming the file and the problem.
#include <map>
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
  // The dtype of a tensor the file has but pte does not read (e.g. "float64"), or nullptr.
  const std::string* unread_dtype(std::string_view name) const;
  // Drops the pages behind `view` from the process's resident set once it has been read, so
  // that streaming a whole checkpoint does not grow the RSS to the checkpoint's size.
  virtual void release(const TensorView& view) const {}
  // The files the tensors come from (the checkpoint; an index and its shards).
  virtual std::vector<std::string> files() const { return {path_}; }
  // Notes for the user about how the file was read (e.g. "state dict found under 'model'").
  const std::vector<std::string>& notes() const { return notes_; }
  void add_note(std::string note) { notes_.push_back(std::move(note)); }

 protected:
  explicit Checkpoint(std::string path) : path_(std::move(path)) {}
  std::string path_;
  // Readers add through these: a name may appear once (an error naming both otherwise).
  void add_tensor(TensorView view);
  void add_unread(const std::string& name, const std::string& dtype);
  std::vector<std::string> notes_;

 private:
  void claim_name(const std::string& name);
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string, std::less<>> unread_;
};

std::unique_ptr<Checkpoint> open_checkpoint(const std::string& path);

}  // namespace pte
