#pragma once
// torch.save's zip format (torch >= 1.6): <prefix>/data.pkl holds the pickled object and each
// storage is the entry <prefix>/data/<key>. Stored entries are viewed in place in the map.
#include <memory>

#include "common/mapped_file.h"
#include "exporter/checkpoint/checkpoint.h"

namespace pte {

std::unique_ptr<Checkpoint> read_pth_checkpoint(std::unique_ptr<MappedFile> file);

}  // namespace pte
