#pragma once
// torch.save's legacy format (_use_new_zipfile_serialization=False): pickles of the magic
// number, the protocol version, sys_info, the object and the list of storage keys, then for
// each listed key an 8-byte little-endian element count and the storage's raw bytes.
#include <memory>

#include "common/mapped_file.h"
#include "exporter/checkpoint/checkpoint.h"

namespace pte {

std::unique_ptr<Checkpoint> read_pth_legacy_checkpoint(std::unique_ptr<MappedFile> file);

}  // namespace pte
