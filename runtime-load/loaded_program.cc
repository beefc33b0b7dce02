#include "runtime-load/loaded_program.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/sha256.h"

namespace pte::runtime {

std::string_view view(const flatbuffers::String* s) {
  return s ? std::string_view(s->c_str(), s->size()) : std::string_view();
}

Shape to_shape(const flatbuffers::Vector<int64_t>* v) {
  return v ? Shape(v->begin(), v->end()) : Shape();
}

DType to_dtype(fb::DType t) {
  auto n = static_cast<uint8_t>(t);
  return n >= 1 && n <= 8 ? static_cast<DType>(n) : DType::Invalid;
}

namespace {

std::string quoted(std::string_view s) {
  std::string q = "'";
  q.append(s);
  q += '\'';
  return q;
}

// Binary search in a flatbuffer vector of tables sorted by `key_of`.
template <typename T, typename KeyOf>
const T* find_sorted(const flatbuffers::Vector<flatbuffers::Offset<T>>& items, std::string_view key,
                     KeyOf key_of) {
  size_t lo = 0, hi = items.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const T* item = items.Get(static_cast<flatbuffers::uoffset_t>(mid));
    std::string_view k = key_of(*item);
    if (k == key) return item;
    if (k < key) lo = mid + 1; else hi = mid;
  }
  return nullptr;
}

// The FlatBuffers verifier checks the alignment of a vector's length, not of its elements.
bool aligned_longs(const flatbuffers::Vector<int64_t>* v) {
  return v->size() == 0 || reinterpret_cast<uintptr_t>(v->Data()) % alignof(int64_t) == 0;
}

}  // namespace

void LoadedProgram::fail(const std::string& what) const { throw Error(path() + ": " + what); }

LoadedProgram::LoadedProgram(const std::string& path, LoadOptions options) : file_(std::in_place, path) {
  name_ = file_->path();
  data_ = file_->data();
  data_size_ = file_size_ = file_->size();
  load(options);
}

LoadedProgram::LoadedProgram(InMemoryProgram program) : memory_(std::move(program)) {
  name_ = memory_.name;
  data_ = memory_.image.data();
  data_size_ = memory_.image.size();
  file_size_ = memory_.file_size;
  if (data_size_ > file_size_) fail("in-memory image is larger than its file_size");
  load({.check_hashes = false});
}

void LoadedProgram::load(LoadOptions options) {
  if (data_size_ < kDigestedHeaderBytes)
    fail("file is " + std::to_string(data_size_) + " bytes, smaller than a .pte header");
  std::memcpy(&header_, data_, std::min<size_t>(kHeaderSize, data_size_));
  if (std::string problem = check_header(header_, file_size_); !problem.empty()) fail(problem);
  if (header_.segment_offset > data_size_)
    fail("in-memory image ends before the data segment");
  const Sha256Digest digest =
      container_digest(header_, data_ + kHeaderSize, header_.segment_offset - kHeaderSize);
  if (std::memcmp(digest.data(), header_.container_sha256, digest.size()) != 0)
    fail("the container does not match the header's container_sha256 (the file is corrupt)");
  if (header_.flatbuffer_size >= FLATBUFFERS_MAX_BUFFER_SIZE)
    fail("flatbuffer_size " + std::to_string(header_.flatbuffer_size) + " exceeds the FlatBuffers limit");

  const uint8_t* fb_data = data_ + header_.flatbuffer_offset;
  flatbuffers::Verifier verifier(fb_data, static_cast<size_t>(header_.flatbuffer_size));
  if (!fb::VerifyProgramBuffer(verifier))
    fail("the container flatbuffer is corrupt or lacks the PTE1 identifier (FlatBuffers verifier failed)");
  program_ = fb::GetProgram(fb_data);
  if (program_->format_version() != kFormatVersion)
    fail("flatbuffer format_version is " + std::to_string(program_->format_version()) + ", expected " +
         std::to_string(kFormatVersion));

  check_blobs();
  check_methods();
  check_metadata();
  if (options.check_hashes) verify_hashes();
}

void LoadedProgram::check_blobs() const {
  const auto& blobs = *program_->blobs();
  std::string_view previous;
  for (flatbuffers::uoffset_t i = 0; i < blobs.size(); ++i) {
    const fb::Blob& b = *blobs.Get(i);
    std::string_view key = view(b.key());
    if (i > 0 && !(previous < key))
      fail("blob table is not sorted by unique key: " + quoted(key) + " after " + quoted(previous));
    previous = key;
    if (b.alignment() == 0 || b.offset() % b.alignment() != 0)
      fail("blob " + quoted(key) + " offset " + std::to_string(b.offset()) +
           " is not a multiple of its alignment " + std::to_string(b.alignment()));
    if (b.offset() > header_.segment_size || b.size() > header_.segment_size - b.offset())
      fail("blob " + quoted(key) + " [" + std::to_string(b.offset()) + ", +" + std::to_string(b.size()) +
           ") extends past the data segment of " + std::to_string(header_.segment_size) + " bytes");
    if (!in_image(b)) {
      const ExternalBlob* e = external(b);
      if (!e) fail("blob " + quoted(key) + " lies past the end of the in-memory image and has no external bytes");
      if (e->size != b.size())
        fail("blob " + quoted(key) + " has " + std::to_string(b.size()) + " bytes but its external bytes " +
             std::to_string(e->size));
    }
    if (b.sha256()->size() != 32)
      fail("blob " + quoted(key) + " sha256 has " + std::to_string(b.sha256()->size()) +
           " bytes, expected 32");
  }
}

void LoadedProgram::check_methods() const {
  std::set<std::string_view> names;
  for (const fb::Method* m : *program_->methods()) {
    if (!names.insert(view(m->name())).second) fail("method " + quoted(view(m->name())) + " appears twice");
    check_method(*m);
  }
}

void LoadedProgram::check_method(const fb::Method& m) const {
  std::string where = "method " + quoted(view(m.name()));
  if (static_cast<uint8_t>(m.role()) > static_cast<uint8_t>(fb::MethodRole::MAX))
    fail(where + " has unknown role " + std::to_string(static_cast<int>(m.role())));
  std::set<std::string_view> io_names;
  auto check_specs = [&](const flatbuffers::Vector<flatbuffers::Offset<fb::IOSpec>>& specs,
                         const char* kind) {
    for (flatbuffers::uoffset_t i = 0; i < specs.size(); ++i) {
      const fb::IOSpec& s = *specs.Get(i);
      std::string io = where + " " + kind + " " + std::to_string(i) + " " + quoted(view(s.name()));
      if (!io_names.insert(view(s.name())).second) fail(io + ": the name is used twice");
      if (to_dtype(s.dtype()) == DType::Invalid)
        fail(io + " has invalid dtype " + std::to_string(static_cast<int>(s.dtype())));
      if (static_cast<uint8_t>(s.role()) > static_cast<uint8_t>(fb::IORole::MAX))
        fail(io + " has unknown role " + std::to_string(static_cast<int>(s.role())));
      if (s.layer() < -1) fail(io + " has layer " + std::to_string(s.layer()) + ", expected -1 or more");
      if (!aligned_longs(s.shape())) fail(io + " shape vector is misaligned");
      Shape shape = to_shape(s.shape());
      if (checked_numel(shape, kMaxTensorElements) < 0)
        fail(io + " shape " + shape_string(shape) + " has a negative dimension or more than " +
             std::to_string(kMaxTensorElements) + " elements");
    }
  };
  check_specs(*m.inputs(), "input");
  check_specs(*m.outputs(), "output");
  for (flatbuffers::uoffset_t i = 0; i < m.pieces()->size(); ++i) {
    const fb::Piece& p = *m.pieces()->Get(i);
    if (!find_blob(view(p.payload())))
      fail(where + " piece " + std::to_string(i) + " names payload blob " + quoted(view(p.payload())) +
           " which is not in the blob table");
  }
}

void LoadedProgram::check_metadata() const {
  const auto& entries = *program_->metadata();
  std::string_view previous;
  for (flatbuffers::uoffset_t i = 0; i < entries.size(); ++i) {
    const fb::MetaEntry& e = *entries.Get(i);
    std::string_view key = view(e.key());
    std::string where = "metadata " + quoted(key);
    if (i > 0 && !(previous < key))
      fail("metadata is not sorted by unique key: " + quoted(key) + " after " + quoted(previous));
    previous = key;
    if (const fb::IntTensor* t = e.value_as_IntTensor()) {
      if (!aligned_longs(t->shape()) || !aligned_longs(t->values())) fail(where + " vectors are misaligned");
      if (checked_numel(to_shape(t->shape()), std::numeric_limits<int64_t>::max()) !=
          static_cast<int64_t>(t->values()->size()))
        fail(where + " has shape " + shape_string(to_shape(t->shape())) + " but " +
             std::to_string(t->values()->size()) + " values");
    } else if (e.value_as_Text()) {
    } else if (const fb::BlobTensor* t = e.value_as_BlobTensor()) {
      if (!aligned_longs(t->shape())) fail(where + " shape vector is misaligned");
      const fb::Blob* blob = find_blob(view(t->blob()));
      if (!blob) fail(where + " names blob " + quoted(view(t->blob())) + " which is not in the blob table");
      DType dtype = to_dtype(t->dtype());
      Shape shape = to_shape(t->shape());
      int64_t n = checked_numel(shape, std::numeric_limits<int64_t>::max() / 8);
      if (dtype == DType::Invalid || n < 0)
        fail(where + " has invalid dtype or shape " + shape_string(shape));
      if (storage_bytes(dtype, static_cast<uint64_t>(n)) != blob->size())
        fail(where + " is " + dtype_name(dtype) + " " + shape_string(shape) + " (" +
             std::to_string(storage_bytes(dtype, static_cast<uint64_t>(n))) + " bytes) but blob " +
             quoted(view(t->blob())) + " has " + std::to_string(blob->size()) + " bytes");
    } else {
      fail(where + " has unknown value type " + std::to_string(static_cast<int>(e.value_type())));
    }
  }
}

const fb::Blob* LoadedProgram::find_blob(std::string_view key) const {
  return find_sorted(*program_->blobs(), key, [](const fb::Blob& b) { return view(b.key()); });
}

bool LoadedProgram::in_image(const fb::Blob& blob) const {
  const uint64_t start = header_.segment_offset + blob.offset();  // both bounded by the file size
  return start <= data_size_ && blob.size() <= data_size_ - start;
}

const ExternalBlob* LoadedProgram::external(const fb::Blob& blob) const {
  auto it = memory_.external.find(view(blob.key()));
  return it == memory_.external.end() ? nullptr : &it->second;
}

std::span<const uint8_t> LoadedProgram::blob_bytes(const fb::Blob& blob) const {
  if (const ExternalBlob* e = external(blob)) return {e->bytes, static_cast<size_t>(e->size)};
  return {data_ + header_.segment_offset + blob.offset(), static_cast<size_t>(blob.size())};
}

const uint32_t* LoadedProgram::blob_row_order(const fb::Blob& blob) const {
  const ExternalBlob* e = external(blob);
  return e ? e->row_order : nullptr;
}

std::span<const uint8_t> LoadedProgram::blob_bytes(std::string_view key) const {
  const fb::Blob* b = find_blob(key);
  if (!b) fail("blob " + quoted(key) + " is not in the blob table");
  return blob_bytes(*b);
}

void LoadedProgram::verify_hashes() const {
  if (!file_) fail("an in-memory program has no blob hashes to check");
  // Shared storage is hashed once; distinct ranges are hashed on the worker threads.
  std::map<std::pair<uint64_t, uint64_t>, Sha256Digest> computed;
  for (const fb::Blob* b : *program_->blobs()) computed.emplace(std::make_pair(b->offset(), b->size()), Sha256Digest{});
  std::vector<std::pair<const std::pair<uint64_t, uint64_t>, Sha256Digest>*> ranges;
  for (auto& entry : computed) ranges.push_back(&entry);
  // Largest first, dealt round-robin: the threads get about the same number of bytes.
  std::sort(ranges.begin(), ranges.end(), [](const auto* a, const auto* b) { return a->first.second > b->first.second; });
  const size_t lanes = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), ranges.size()));
  auto hash_lane = [&](size_t lane) {
    for (size_t i = lane; i < ranges.size(); i += lanes) {
      const auto [offset, size] = ranges[i]->first;
      ranges[i]->second = sha256(data_ + header_.segment_offset + offset, static_cast<size_t>(size));
    }
  };
  std::vector<std::thread> workers;
  for (size_t lane = 1; lane < lanes; ++lane) workers.emplace_back(hash_lane, lane);
  hash_lane(0);
  for (std::thread& t : workers) t.join();
  for (const fb::Blob* b : *program_->blobs()) {
    const Sha256Digest& digest = computed.at(std::make_pair(b->offset(), b->size()));
    if (std::memcmp(digest.data(), b->sha256()->data(), 32) != 0)
      fail("blob " + quoted(view(b->key())) + " does not match its SHA-256 (stored " +
           to_hex([&] { Sha256Digest d; std::memcpy(d.data(), b->sha256()->data(), 32); return d; }()) +
           ", computed " + to_hex(digest) + ")");
  }
}

const fb::Method* LoadedProgram::find_method(std::string_view name) const {
  for (const fb::Method* m : *program_->methods())
    if (view(m->name()) == name) return m;
  return nullptr;
}

const fb::Method& LoadedProgram::method(std::string_view name) const {
  if (const fb::Method* m = find_method(name)) return *m;
  std::string available;
  for (const std::string& n : method_names()) available += (available.empty() ? "" : ", ") + n;
  fail("no method " + quoted(name) + " (methods: " + (available.empty() ? "none" : available) + ")");
}

std::vector<std::string> LoadedProgram::method_names() const {
  std::vector<std::string> names;
  for (const fb::Method* m : *program_->methods()) names.emplace_back(view(m->name()));
  return names;
}

const fb::MetaEntry* LoadedProgram::find_metadata(std::string_view key) const {
  return find_sorted(*program_->metadata(), key, [](const fb::MetaEntry& e) { return view(e.key()); });
}

int64_t LoadedProgram::metadata_int(std::string_view key) const {
  IntTensorValue t = metadata_int_tensor(key);
  if (!t.shape.empty()) fail("metadata " + quoted(key) + " is a tensor " + shape_string(t.shape) + ", expected a scalar");
  return t.values.at(0);
}

IntTensorValue LoadedProgram::metadata_int_tensor(std::string_view key) const {
  const fb::MetaEntry* e = find_metadata(key);
  if (!e) fail("metadata " + quoted(key) + " is missing");
  const fb::IntTensor* t = e->value_as_IntTensor();
  if (!t) fail("metadata " + quoted(key) + " is not an IntTensor");
  return {to_shape(t->shape()), std::vector<int64_t>(t->values()->begin(), t->values()->end())};
}

std::string LoadedProgram::metadata_text(std::string_view key) const {
  const fb::MetaEntry* e = find_metadata(key);
  if (!e) fail("metadata " + quoted(key) + " is missing");
  const fb::Text* t = e->value_as_Text();
  if (!t) fail("metadata " + quoted(key) + " is not Text");
  return std::string(view(t->value()));
}

Tensor LoadedProgram::metadata_blob_tensor(std::string_view key) const {
  const fb::MetaEntry* e = find_metadata(key);
  if (!e) fail("metadata " + quoted(key) + " is missing");
  const fb::BlobTensor* t = e->value_as_BlobTensor();
  if (!t) fail("metadata " + quoted(key) + " is not a BlobTensor");
  return Tensor::constant(to_dtype(t->dtype()), to_shape(t->shape()), blob_bytes(view(t->blob())).data());
}

}  // namespace pte::runtime
