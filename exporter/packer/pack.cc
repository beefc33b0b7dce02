#include "exporter/packer/pack.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "common/error.h"
#include "exporter/packer/buffer_pool.h"
#include "exporter/packer/container_builder.h"
#include "exporter/packer/ordered_parallel.h"
#include "exporter/packer/output_file.h"
#include "exporter/packer/piece_serializer.h"
#include "exporter/packer/segment_writer.h"
#include "schema/file_header.h"

namespace pte {
namespace {

struct InMemoryBlob {
  std::string key;
  Bytes bytes;
};

// One weight recipe's blobs and their hashes, computed on a worker thread.
struct ComputedWeight {
  std::vector<Bytes> blobs;
  std::vector<Sha256Digest> digests;
};

// Recipes in order of first use (method, piece, value), the order they are written in.
std::vector<const WeightRecipe*> weights_in_use_order(const Program& program) {
  std::vector<const WeightRecipe*> order;
  std::set<std::string> seen;
  for (const Method& m : program.methods)
    for (const Piece& p : m.pieces)
      for (const GraphValue& v : p.graph.values)
        if (v.is_weight() && seen.insert(v.weight).second) {
          auto it = program.weights.find(v.weight);
          if (it == program.weights.end()) throw Error("internal: weight '" + v.weight + "' has no recipe");
          order.push_back(&it->second);
        }
  return order;
}

std::map<std::string, uint64_t> method_sizes(const Program& program, const std::vector<BlobRecord>& blobs) {
  std::map<std::string, const BlobRecord*> by_key;
  for (const BlobRecord& b : blobs) by_key[b.key] = &b;
  std::map<std::string, uint64_t> sizes;
  for (const Method& m : program.methods) {
    std::set<uint64_t> offsets;  // distinct stored copies
    uint64_t total = 0;
    auto count = [&](const std::string& key) {
      const BlobRecord* b = by_key.at(key);
      if (offsets.insert(b->offset).second) total += b->size;
    };
    for (size_t i = 0; i < m.pieces.size(); ++i) {
      count(piece_payload_key(m, i));
      for (const GraphValue& v : m.pieces[i].graph.values) {
        if (v.is_weight()) count(v.weight);
        if (v.is_quantized()) count(v.scales);
      }
    }
    sizes[m.name] = total;
  }
  return sizes;
}

}  // namespace

PackReport pack_program(const Program& program, const CheckpointSet& checkpoints, OutputFile& file,
                        int threads, const std::string& exporter_version, const PackProgress& progress,
                        const LateMetadata& late) {
  std::vector<InMemoryBlob> small;
  for (const Method& m : program.methods)
    for (size_t i = 0; i < m.pieces.size(); ++i)
      small.push_back({piece_payload_key(m, i), serialize_piece_graph(m.pieces[i].graph)});
  for (const auto& [key, value] : program.metadata)
    if (auto* t = std::get_if<BytesTensor>(&value)) small.push_back({metadata_blob_key(key), t->bytes});
  const std::vector<const WeightRecipe*> weights = weights_in_use_order(program);

  // Reserve the flatbuffer's exact size before the segment (see container_builder.h).
  std::vector<BlobRecord> placeholders;
  for (const InMemoryBlob& b : small) placeholders.push_back(BlobRecord{b.key, 0, 0, 0, {}});
  for (const WeightRecipe* w : weights)
    for (const std::string& k : w->blob_keys()) placeholders.push_back(BlobRecord{k, 0, 0, 0, {}});
  const size_t container_size = build_container(program, placeholders, exporter_version).size();
  const uint64_t segment_offset = segment_offset_after(kHeaderSize + container_size);

  SegmentWriter segment(file, segment_offset);
  for (const InMemoryBlob& b : small) segment.add(b.key, b.bytes);

  PackReport report;
  std::mutex stats_mu;
  WeightStats stats;
  const size_t window = static_cast<size_t>(std::max(threads, 1)) * 2;
  BufferPool buffers(size_t{64} << 20, 2 * (window + static_cast<size_t>(std::max(threads, 1))));
  ordered_parallel<ComputedWeight>(
      weights.size(), threads, window,
      [&](size_t i, ComputedWeight& out) {
        WeightStats local;
        out.blobs.clear();
        for (int b = 0; b < 2; ++b) out.blobs.push_back(buffers.take());
        compute_weight(*weights[i], checkpoints, out.blobs, local);
        for (const Bytes& b : out.blobs) out.digests.push_back(sha256(b.data(), b.size()));
        std::lock_guard<std::mutex> lock(stats_mu);
        stats.bytes_read += local.bytes_read;
        stats.fp16_overflows += local.fp16_overflows;
      },
      [&](size_t i, ComputedWeight& computed) {
        const std::vector<std::string> keys = weights[i]->blob_keys();
        for (size_t b = 0; b < keys.size(); ++b) segment.add(keys[b], computed.blobs[b], computed.digests[b]);
        for (Bytes& b : computed.blobs) buffers.give(std::move(b));
        computed = ComputedWeight{};
        if (progress) progress(i + 1, weights.size());
      });

  segment.finish();
  report.late = late ? late() : std::map<std::string, MetaValue>{};
  std::vector<uint8_t> container = build_container(program, segment.blobs(), exporter_version, report.late);
  if (container.size() != container_size)
    throw Error("internal: container size changed from " + std::to_string(container_size) + " to " +
                std::to_string(container.size()));
  const std::vector<uint8_t> head = file_head(std::move(container), segment.size());
  if (head.size() != segment_offset) throw Error("internal: the data segment moved");
  file.write_at(0, head.data(), head.size());
  const uint64_t file_size = segment_offset + segment.size();
  file.truncate(file_size);

  report.file_size = file_size;
  report.bytes_read = stats.bytes_read;
  report.fp16_overflows = stats.fp16_overflows;
  report.blob_count = segment.blobs().size();
  std::set<uint64_t> stored;
  for (const BlobRecord& b : segment.blobs()) stored.insert(b.offset);
  report.stored_blob_count = stored.size();
  report.deduplicated_bytes = segment.deduplicated_bytes();
  report.method_bytes = method_sizes(program, segment.blobs());
  report.blobs = segment.blobs();
  return report;
}

void restamp_metadata(const Program& program, const PackReport& packed, const std::map<std::string, MetaValue>& values,
                      OutputFile& output, const std::string& exporter_version) {
  std::map<std::string, MetaValue> late = packed.late;
  for (const auto& [key, value] : values) late[key] = value;
  std::vector<uint8_t> container = build_container(program, packed.blobs, exporter_version, late);
  FileHeader written{};
  output.read_at(0, &written, sizeof written);
  if (container.size() != written.flatbuffer_size)
    throw Error("internal: restamping changed the container's size from " + std::to_string(written.flatbuffer_size) +
                " to " + std::to_string(container.size()));
  const std::vector<uint8_t> head = file_head(std::move(container), written.segment_size);
  output.write_at(0, head.data(), head.size());
}

}  // namespace pte
