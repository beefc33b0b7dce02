#pragma once
// Where a .pte came from (FORMAT.md §4.2): the model's name and architecture, and the size and
// SHA-256 of every input file (checkpoint, params, tokenizer files, adapters), so that a file
// can be traced to, and checked against, what it was exported from.
#include <string>
#include <vector>

#include "exporter/program/program.h"

namespace pte {

struct SourceFile {
  std::string role;  // "checkpoint", "params", "tokenizer", "tokenizer_config", "generation_config", "adapter NAME ..."
  std::string path;  // as given on the command line
};

// Hashes each file (streamed through a memory map, never held whole) and records general.name,
// general.architecture and general.source.files. `name` is the model's name.
void add_provenance(Program& program, const std::string& name, const std::vector<SourceFile>& files);

// The default model name: the folder that holds the checkpoint ("stories260K" for
// examples/stories260K/model.pth), or the checkpoint's file name without extension.
std::string model_name_of(const std::string& checkpoint_path);

}  // namespace pte
