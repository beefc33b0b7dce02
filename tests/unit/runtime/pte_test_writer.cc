#include "tests/unit/runtime/pte_test_writer.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "common/float16.h"
#include "common/sha256.h"
#include "schema/file_header.h"

namespace pte::testing {

std::vector<uint8_t> encode_floats(const std::vector<float>& values, DType dtype) {
  std::vector<uint8_t> out;
  for (float v : values) {
    if (dtype == DType::F32) {
      uint8_t b[4];
      std::memcpy(b, &v, 4);
      out.insert(out.end(), b, b + 4);
    } else {
      uint16_t h = dtype == DType::F16 ? float_to_half(v) : float_to_bf16(v);
      out.push_back(static_cast<uint8_t>(h & 0xff));
      out.push_back(static_cast<uint8_t>(h >> 8));
    }
  }
  return out;
}

void PteWriter::add_blob(const std::string& key, std::vector<uint8_t> bytes) {
  blobs_.emplace_back(key, std::move(bytes));
}

void PteWriter::add_floats(const std::string& key, const std::vector<float>& values, DType dtype) {
  add_blob(key, encode_floats(values, dtype));
}

void PteWriter::add_graph(const std::string& key, const graph::PieceGraph& graph) {
  std::string bytes = graph.SerializeAsString();
  add_blob(key, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

void PteWriter::erase_meta(const std::string& key) {
  std::erase_if(metadata_, [&](const Meta& m) { return m.key == key; });
}

void PteWriter::meta_ints(const std::string& key, Shape shape, std::vector<int64_t> values) {
  if (!duplicate_metadata) erase_meta(key);
  metadata_.push_back({key, std::make_pair(std::move(shape), std::move(values))});
}

void PteWriter::meta_text(const std::string& key, const std::string& text) {
  if (!duplicate_metadata) erase_meta(key);
  metadata_.push_back({key, text});
}

void PteWriter::meta_blob_tensor(const std::string& key, const std::string& blob, DType dtype, Shape shape) {
  if (!duplicate_metadata) erase_meta(key);
  metadata_.push_back({key, std::make_tuple(blob, dtype, std::move(shape))});
}

std::vector<uint8_t> PteWriter::build() const {
  // Segment layout: each blob at the next multiple of 128.
  auto blobs = blobs_;
  if (sort_blobs)
    std::stable_sort(blobs.begin(), blobs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<uint8_t> segment;
  std::vector<uint64_t> offsets;
  for (const auto& [key, bytes] : blobs) {
    segment.resize((segment.size() + 127) / 128 * 128, 0);
    offsets.push_back(segment.size());
    segment.insert(segment.end(), bytes.begin(), bytes.end());
  }

  flatbuffers::FlatBufferBuilder fbb;
  auto specs = [&](const std::vector<IoSpecDesc>& list) {
    std::vector<flatbuffers::Offset<fb::IOSpec>> out;
    for (const IoSpecDesc& s : list)
      out.push_back(fb::CreateIOSpecDirect(fbb, s.name.c_str(), static_cast<fb::DType>(s.dtype), &s.shape, s.role, s.layer));
    return fbb.CreateVector(out);
  };
  auto strings = [&](const std::vector<std::string>& list) { return fbb.CreateVectorOfStrings(list); };
  std::vector<flatbuffers::Offset<fb::Method>> methods;
  for (const MethodDesc& m : methods_) {
    std::vector<flatbuffers::Offset<fb::Piece>> pieces;
    for (const PieceDesc& p : m.pieces)
      pieces.push_back(fb::CreatePiece(fbb, fbb.CreateString(p.backend), fbb.CreateString(p.payload),
                                       strings(p.inputs), strings(p.outputs)));
    auto name = fbb.CreateString(m.name);
    auto ins = specs(m.inputs);
    auto outs = specs(m.outputs);
    auto piece_vec = fbb.CreateVector(pieces);
    auto adapter = m.adapter ? fbb.CreateString(*m.adapter) : flatbuffers::Offset<flatbuffers::String>();
    methods.push_back(fb::CreateMethod(fbb, name, m.role, ins, outs, piece_vec, adapter));
  }
  std::vector<flatbuffers::Offset<fb::Blob>> blob_table;
  for (size_t i = 0; i < blobs.size(); ++i) {
    const auto& [key, bytes] = blobs[i];
    static const uint8_t kNothing = 0;  // sha256() must not be handed a null pointer
    Sha256Digest d = sha256(bytes.empty() ? &kNothing : bytes.data(), bytes.size());
    std::vector<uint8_t> digest(d.begin(), d.end());
    uint64_t offset = offset_override.count(key) ? offset_override.at(key) : offsets[i];
    uint32_t alignment = alignment_override.count(key) ? alignment_override.at(key) : 128;
    blob_table.push_back(fb::CreateBlobDirect(fbb, key.c_str(), offset, bytes.size(), alignment, &digest));
  }
  auto metadata = metadata_;
  std::stable_sort(metadata.begin(), metadata.end(), [](const Meta& a, const Meta& b) { return a.key < b.key; });
  std::vector<flatbuffers::Offset<fb::MetaEntry>> entries;
  for (const Meta& m : metadata) {
    auto key = fbb.CreateString(m.key);
    if (auto* t = std::get_if<0>(&m.value)) {
      entries.push_back(fb::CreateMetaEntry(fbb, key, fb::MetaValue::IntTensor,
                                            fb::CreateIntTensorDirect(fbb, &t->first, &t->second).Union()));
    } else if (auto* s = std::get_if<1>(&m.value)) {
      entries.push_back(fb::CreateMetaEntry(fbb, key, fb::MetaValue::Text, fb::CreateTextDirect(fbb, s->c_str()).Union()));
    } else {
      const auto& [blob, dtype, shape] = std::get<2>(m.value);
      entries.push_back(fb::CreateMetaEntry(
          fbb, key, fb::MetaValue::BlobTensor,
          fb::CreateBlobTensorDirect(fbb, blob.c_str(), static_cast<fb::DType>(dtype), &shape).Union()));
    }
  }
  auto root = fb::CreateProgram(fbb, flatbuffer_format_version, fbb.CreateString("pte test writer"),
                                fbb.CreateVector(methods), fbb.CreateVector(blob_table), fbb.CreateVector(entries));
  fbb.Finish(root, identifier);

  FileHeader h{};
  std::memcpy(h.magic, kFileMagic, 8);
  h.header_size = kHeaderSize;
  h.format_version = kFormatVersion;
  h.flatbuffer_offset = kHeaderSize;
  h.flatbuffer_size = fbb.GetSize();
  h.segment_offset = (kHeaderSize + fbb.GetSize() + kSegmentAlignment - 1) / kSegmentAlignment * kSegmentAlignment;
  h.segment_size = segment.size();
  h.file_size = h.segment_offset + h.segment_size;

  std::vector<uint8_t> file(h.file_size, 0);
  std::memcpy(file.data() + kHeaderSize, fbb.GetBufferPointer(), fbb.GetSize());
  if (!segment.empty()) std::memcpy(file.data() + h.segment_offset, segment.data(), segment.size());
  // FORMAT.md §1: SHA-256 of header bytes [0, 64) then bytes [96, segment_offset).
  std::vector<uint8_t> digested(reinterpret_cast<const uint8_t*>(&h), reinterpret_cast<const uint8_t*>(&h) + 64);
  digested.insert(digested.end(), file.begin() + kHeaderSize, file.begin() + static_cast<ptrdiff_t>(h.segment_offset));
  const Sha256Digest digest = sha256(digested.data(), digested.size());
  std::memcpy(h.container_sha256, digest.data(), 32);
  std::memcpy(file.data(), &h, kHeaderSize);
  return file;
}

void PteWriter::write(const std::string& path) const {
  std::vector<uint8_t> bytes = build();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

int GraphBuilder::value(const std::string& name, DType dtype, Shape shape) {
  graph::Value* v = graph_.add_values();
  v->set_name(name);
  v->set_dtype(static_cast<graph::DType>(dtype));
  for (int64_t d : shape) v->add_shape(d);
  return graph_.values_size() - 1;
}

int GraphBuilder::input(const std::string& name, DType dtype, Shape shape) {
  int index = value(name, dtype, std::move(shape));
  graph_.add_inputs(index);
  return index;
}

int GraphBuilder::constant(const std::string& name, DType dtype, Shape shape, const std::string& blob) {
  int index = value(name, dtype, std::move(shape));
  graph_.mutable_values(index)->mutable_constant()->set_blob(blob);
  return index;
}

int GraphBuilder::op(const std::string& op, std::vector<int> inputs, const std::string& out, DType dtype,
                     Shape shape, std::vector<Attr> attributes) {
  int result = value(out, dtype, std::move(shape));
  graph::Node* node = graph_.add_nodes();
  node->set_op(op);
  for (int i : inputs) node->add_inputs(i);
  node->add_outputs(result);
  for (const auto& [name, v] : attributes) {
    graph::Attribute* a = node->add_attributes();
    a->set_name(name);
    if (auto* i = std::get_if<int64_t>(&v)) a->set_i(*i); else a->set_f(std::get<double>(v));
  }
  return result;
}

}  // namespace pte::testing
