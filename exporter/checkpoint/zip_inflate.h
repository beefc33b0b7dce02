#pragma once
// Inflates one deflated zip entry into memory with libzip. Only used for the rare archive
// whose entries were compressed (torch.save stores them); the copy is bounded by the caller.
#include <cstdint>
#include <vector>

#include "common/mapped_file.h"
#include "exporter/checkpoint/zip_directory.h"

namespace pte {

// Throws pte::Error naming the file and entry when the entry cannot be inflated, when its
// inflated size differs from the directory's or its CRC does not match.
std::vector<uint8_t> inflate_zip_entry(const MappedFile& file, const ZipEntry& entry);

}  // namespace pte
