#pragma once
// Builds the container flatbuffer (schema/pte.fbs) for a program whose blobs are laid out.
// Scalars are always written (ForceDefaults), so the flatbuffer's size depends only on the
// program's structure, not on offsets or hashes: the packer measures it with placeholder
// records, reserves that space before the data segment, and fills it in at the end.
#include <map>
#include <string>
#include <vector>

#include "exporter/packer/segment_writer.h"
#include "exporter/program/program.h"

namespace pte {

std::string piece_payload_key(const Method& method, size_t piece_index);
std::string metadata_blob_key(const std::string& metadata_key);

// `blobs` must hold one record per key, in any order.
// `late` replaces the values of some metadata keys (values known only once the weights are
// written); a replacement must not change the container's size.
std::vector<uint8_t> build_container(const Program& program, std::vector<BlobRecord> blobs,
                                     const std::string& exporter_version,
                                     const std::map<std::string, MetaValue>& late = {});

// The bytes of a .pte before its data segment (FORMAT.md §1): the header, with the container's
// digest, then `container` and zeros up to the segment, which holds `segment_size` bytes.
std::vector<uint8_t> file_head(std::vector<uint8_t> container, uint64_t segment_size);

}  // namespace pte
