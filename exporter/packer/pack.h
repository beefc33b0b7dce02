#pragma once
// Writes a Program to a .pte file (schema/FORMAT.md): piece payloads and metadata tables first,
// then the weights, computed one recipe at a time on worker threads and streamed to the file
// in a fixed order, so the bytes never depend on the thread count. The caller commits the
// OutputFile, so the file appears under its name only when complete.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "exporter/checkpoint/checkpoint.h"
#include "exporter/packer/output_file.h"
#include "exporter/packer/segment_writer.h"
#include "exporter/program/program.h"

namespace pte {

struct PackReport {
  uint64_t file_size = 0;
  uint64_t bytes_read = 0;          // checkpoint bytes read by weight recipes
  uint64_t blob_count = 0;          // keys in the blob table
  uint64_t stored_blob_count = 0;   // distinct copies in the data segment
  uint64_t deduplicated_bytes = 0;  // bytes not written because an identical blob was stored
  uint64_t fp16_overflows = 0;
  std::map<std::string, uint64_t> method_bytes;  // distinct stored bytes each method uses
  std::vector<BlobRecord> blobs;                 // the blob table as written
  std::map<std::string, MetaValue> late;         // the late metadata values written
};

// Called on the packing thread after each weight recipe is written: (done, total).
using PackProgress = std::function<void(size_t done, size_t total)>;

// Called once the weights are written: metadata values that replace the program's (same
// encoded size), e.g. hashes computed while the weights were packed.
using LateMetadata = std::function<std::map<std::string, MetaValue>()>;

PackReport pack_program(const Program& program, const CheckpointSet& checkpoints, OutputFile& output,
                        int threads, const std::string& exporter_version, const PackProgress& progress = {},
                        const LateMetadata& late = {});

// Rewrites the header and container of a file pack_program wrote (`packed` its report) with the
// metadata values in `values` replacing the program's and the late ones; each must keep its
// encoded size, so the data segment does not move.
void restamp_metadata(const Program& program, const PackReport& packed, const std::map<std::string, MetaValue>& values,
                      OutputFile& output, const std::string& exporter_version);

// Packs to `output_path` and commits (a program that reads only the base checkpoint, or a set).
inline PackReport pack_program(const Program& program, const CheckpointSet& checkpoints,
                               const std::string& output_path, int threads,
                               const std::string& exporter_version, const PackProgress& progress = {}) {
  OutputFile file(output_path);
  PackReport report = pack_program(program, checkpoints, file, threads, exporter_version, progress);
  file.commit();
  return report;
}
inline PackReport pack_program(const Program& program, const Checkpoint& checkpoint,
                               const std::string& output_path, int threads,
                               const std::string& exporter_version, const PackProgress& progress = {}) {
  return pack_program(program, CheckpointSet{&checkpoint, {}}, output_path, threads, exporter_version, progress);
}

}  // namespace pte
