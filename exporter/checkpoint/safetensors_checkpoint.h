#pragma once
// A single .safetensors file: u64 LE header length, a JSON header naming each tensor's dtype,
// shape and byte range in the data area that follows, then the data area. Views are contiguous.
#include <memory>

#include "common/mapped_file.h"
#include "exporter/checkpoint/checkpoint.h"

namespace pte {

std::unique_ptr<Checkpoint> read_safetensors_checkpoint(std::unique_ptr<MappedFile> file);

}  // namespace pte
