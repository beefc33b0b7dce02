#pragma once
// Where a .pte came from (FORMAT.md §4.2): the model's name and architecture, and the size and
// SHA-256 of every input file (checkpoint, params, tokenizer files, adapters), so that a file
// can be traced to, and checked against, what it was exported from.
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/mapped_file.h"
#include "exporter/program/program.h"

namespace pte {

struct SourceFile {
  std::string role;  // "checkpoint", "params", "tokenizer", "tokenizer_config", "generation_config", "adapter NAME ..."
  std::string path;  // as given on the command line
};

// Hashes the input files on a background thread while the export runs (hashing a multi-GB
// checkpoint takes longer than packing it), each streamed through a memory map.
class SourceHashes {
 public:
  // Opens every file now (a missing one is an error here) and starts hashing.
  explicit SourceHashes(std::vector<SourceFile> files);
  ~SourceHashes();
  SourceHashes(const SourceHashes&) = delete;
  SourceHashes& operator=(const SourceHashes&) = delete;

  // The general.source.files JSON with every hash as 64 zeros: the same size as the real one.
  std::string placeholder_json() const;
  // The real JSON; waits for the hashes. Throws what hashing threw.
  std::string json();

 private:
  std::string to_json(const std::vector<std::string>& hashes) const;
  std::vector<SourceFile> files_;
  std::vector<std::unique_ptr<MappedFile>> maps_;
  std::vector<std::string> hashes_;
  std::exception_ptr error_;
  std::thread worker_;
};

// Records general.name, general.architecture and (a placeholder of) general.source.files;
// the packer puts in `hashes.json()` once the weights are written.
void add_provenance(Program& program, const std::string& name, const SourceHashes& hashes);

// The default model name: the folder that holds the checkpoint ("stories260K" for
// examples/stories260K/model.pth), or the checkpoint's file name without extension.
std::string model_name_of(const std::string& checkpoint_path);

}  // namespace pte
