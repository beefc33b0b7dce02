#include "exporter/packer/container_builder.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "schema/file_header.h"
#include "schema/pte_generated.h"

namespace pte {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

fb::DType to_fb(DType t) { return static_cast<fb::DType>(t); }

// Methods repeat the same I/O names, shapes and wiring: store each distinct string and shape
// once, so that every extra method costs little more than its own offsets.
class SharedVectors {
 public:
  explicit SharedVectors(FlatBufferBuilder& fbb) : fbb_(fbb) {}
  Offset<flatbuffers::Vector<int64_t>> shape(const Shape& s) {
    auto it = shapes_.find(s);
    if (it != shapes_.end()) return it->second;
    return shapes_[s] = fbb_.CreateVector(s);
  }

 private:
  FlatBufferBuilder& fbb_;
  std::map<Shape, Offset<flatbuffers::Vector<int64_t>>> shapes_;
};

std::vector<Offset<fb::IOSpec>> io_specs(FlatBufferBuilder& fbb, SharedVectors& shared, const std::vector<IOSpec>& specs) {
  std::vector<Offset<fb::IOSpec>> out;
  for (const IOSpec& s : specs)
    out.push_back(fb::CreateIOSpec(fbb, fbb.CreateSharedString(s.name), to_fb(s.dtype), shared.shape(s.shape),
                                   static_cast<fb::IORole>(s.role), s.layer));
  return out;
}

std::vector<Offset<flatbuffers::String>> strings(FlatBufferBuilder& fbb, const std::vector<std::string>& v) {
  std::vector<Offset<flatbuffers::String>> out;
  for (const std::string& s : v) out.push_back(fbb.CreateSharedString(s));
  return out;
}

Offset<fb::MetaEntry> meta_entry(FlatBufferBuilder& fbb, const std::string& key, const MetaValue& value) {
  if (auto* t = std::get_if<IntTensor>(&value)) {
    auto v = fb::CreateIntTensorDirect(fbb, &t->shape, &t->values);
    return fb::CreateMetaEntryDirect(fbb, key.c_str(), fb::MetaValue::IntTensor, v.Union());
  }
  if (auto* t = std::get_if<TextValue>(&value)) {
    auto v = fb::CreateTextDirect(fbb, t->text.c_str());
    return fb::CreateMetaEntryDirect(fbb, key.c_str(), fb::MetaValue::Text, v.Union());
  }
  const BytesTensor& b = std::get<BytesTensor>(value);
  auto v = fb::CreateBlobTensorDirect(fbb, metadata_blob_key(key).c_str(), to_fb(b.dtype), &b.shape);
  return fb::CreateMetaEntryDirect(fbb, key.c_str(), fb::MetaValue::BlobTensor, v.Union());
}

}  // namespace

std::string piece_payload_key(const Method& method, size_t piece_index) {
  return "piece/" + method.name + "/" + std::to_string(piece_index) + "_" + method.pieces[piece_index].name;
}

std::string metadata_blob_key(const std::string& metadata_key) { return "metadata/" + metadata_key; }

std::vector<uint8_t> build_container(const Program& program, std::vector<BlobRecord> blobs,
                                     const std::string& exporter_version,
                                     const std::map<std::string, MetaValue>& late) {
  FlatBufferBuilder fbb(1 << 16);
  fbb.ForceDefaults(true);

  SharedVectors shared(fbb);
  std::vector<Offset<fb::Method>> methods;
  for (const Method& m : program.methods) {
    auto inputs = io_specs(fbb, shared, m.inputs);
    auto outputs = io_specs(fbb, shared, m.outputs);
    std::vector<Offset<fb::Piece>> pieces;
    for (size_t i = 0; i < m.pieces.size(); ++i) {
      auto in = strings(fbb, m.pieces[i].inputs);
      auto out = strings(fbb, m.pieces[i].outputs);
      pieces.push_back(fb::CreatePiece(fbb, fbb.CreateSharedString(kGraphBackend),
                                       fbb.CreateString(piece_payload_key(m, i)), fbb.CreateVector(in),
                                       fbb.CreateVector(out)));
    }
    methods.push_back(fb::CreateMethodDirect(fbb, m.name.c_str(), static_cast<fb::MethodRole>(m.role),
                                             &inputs, &outputs, &pieces,
                                             m.adapter.empty() ? nullptr : m.adapter.c_str()));
  }

  std::sort(blobs.begin(), blobs.end(), [](const BlobRecord& a, const BlobRecord& b) { return a.key < b.key; });
  std::vector<Offset<fb::Blob>> blob_offsets;
  for (const BlobRecord& b : blobs) {
    std::vector<uint8_t> digest(b.sha256.begin(), b.sha256.end());
    blob_offsets.push_back(fb::CreateBlobDirect(fbb, b.key.c_str(), b.offset, b.size, b.alignment, &digest));
  }

  std::vector<Offset<fb::MetaEntry>> metadata;  // std::map iterates in key order
  for (const auto& [key, value] : program.metadata) {
    auto replaced = late.find(key);
    metadata.push_back(meta_entry(fbb, key, replaced == late.end() ? value : replaced->second));
  }

  auto root = fb::CreateProgramDirect(fbb, kFormatVersion, exporter_version.c_str(), &methods,
                                      &blob_offsets, &metadata);
  fb::FinishProgramBuffer(fbb, root);
  return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

std::vector<uint8_t> file_head(std::vector<uint8_t> container, uint64_t segment_size) {
  FileHeader header{};
  std::memcpy(header.magic, kFileMagic, sizeof(kFileMagic));
  header.header_size = kHeaderSize;
  header.format_version = kFormatVersion;
  header.flatbuffer_offset = kHeaderSize;
  header.flatbuffer_size = container.size();
  header.segment_offset = segment_offset_after(kHeaderSize + container.size());
  header.segment_size = segment_size;
  header.file_size = header.segment_offset + segment_size;
  // Every byte before the segment is part of the output and digested.
  container.resize(header.segment_offset - kHeaderSize, 0);
  const Sha256Digest digest = container_digest(header, container.data(), container.size());
  std::memcpy(header.container_sha256, digest.data(), digest.size());
  std::vector<uint8_t> head(kHeaderSize + container.size());
  std::memcpy(head.data(), &header, sizeof(header));
  std::copy(container.begin(), container.end(), head.begin() + kHeaderSize);
  return head;
}

}  // namespace pte
