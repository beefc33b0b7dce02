#include "pte/program.h"

#include <algorithm>
#include <cctype>

#include "api/state.h"
#include "common/dtype.h"
#include "common/sha256.h"

namespace pte {
namespace {

std::string lower(const char* name) {
  std::string s = name ? name : "";
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "KCache" -> "k_cache", "LastValidTokenPos" -> "last_valid_token_pos".
std::string snake(const char* name) {
  std::string out;
  for (const char* p = name ? name : ""; *p; ++p) {
    if (std::isupper(static_cast<unsigned char>(*p)) && !out.empty()) out += '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
  }
  return out;
}

std::vector<TensorInfo> tensors(const flatbuffers::Vector<flatbuffers::Offset<fb::IOSpec>>& specs) {
  std::vector<TensorInfo> out;
  for (const fb::IOSpec* s : specs)
    out.push_back({std::string(runtime::view(s->name())), dtype_name(runtime::to_dtype(s->dtype())),
                   runtime::to_shape(s->shape()), snake(fb::EnumNameIORole(s->role())), s->layer()});
  return out;
}

}  // namespace

Result<Program> Program::open(const std::string& path, const OpenOptions& options) {
  return detail::guarded([&]() -> Result<Program> {
    return Program(std::make_shared<detail::ProgramState>(path, runtime::LoadOptions{.check_hashes = options.check_hashes}));
  });
}

const std::string& Program::path() const { return state_->program.path(); }
uint64_t Program::file_size() const { return state_->program.file_size(); }
uint32_t Program::format_version() const { return state_->program.header().format_version; }

std::string Program::exporter_version() const {
  return std::string(runtime::view(state_->program.program().exporter_version()));
}

std::string Program::container_sha256() const {
  Sha256Digest d;
  std::copy(std::begin(state_->program.header().container_sha256), std::end(state_->program.header().container_sha256),
            d.begin());
  return to_hex(d);
}

std::vector<MethodInfo> Program::methods() const {
  std::vector<MethodInfo> out;
  for (const fb::Method* m : *state_->program.program().methods())
    out.push_back({std::string(runtime::view(m->name())), lower(fb::EnumNameMethodRole(m->role())),
                   std::string(runtime::view(m->adapter())), tensors(*m->inputs()), tensors(*m->outputs()),
                   m->pieces()->size()});
  return out;
}

std::vector<BlobInfo> Program::blobs() const {
  std::vector<BlobInfo> out;
  for (const fb::Blob* b : *state_->program.program().blobs()) {
    Sha256Digest d{};
    std::copy_n(b->sha256()->data(), std::min<size_t>(d.size(), b->sha256()->size()), d.begin());
    out.push_back({std::string(runtime::view(b->key())), b->offset(), b->size(), to_hex(d)});
  }
  return out;
}

Status Program::verify_hashes() const {
  try {
    state_->program.verify_hashes();
    return Status();
  } catch (...) {
    return detail::current_exception_status();
  }
}

std::vector<MetadataInfo> Program::metadata() const {
  std::vector<MetadataInfo> out;
  for (const fb::MetaEntry* e : *state_->program.program().metadata()) {
    const MetadataKind kind = e->value_type() == fb::MetaValue::IntTensor ? MetadataKind::Ints
                              : e->value_type() == fb::MetaValue::Text    ? MetadataKind::Text
                                                                           : MetadataKind::Blob;
    out.push_back({std::string(runtime::view(e->key())), kind});
  }
  return out;
}

namespace {

// NotFound or InvalidArgument when `key` is absent or not of `type`; ok otherwise.
Status check_entry(const runtime::LoadedProgram& p, std::string_view key, fb::MetaValue type, const char* kind) {
  const fb::MetaEntry* e = p.find_metadata(key);
  if (!e) return Status(ErrorCode::NotFound, p.path() + ": no metadata entry '" + std::string(key) + "'");
  if (e->value_type() != type)
    return Status(ErrorCode::InvalidArgument,
                  p.path() + ": metadata entry '" + std::string(key) + "' is not " + kind);
  return Status();
}

}  // namespace

Result<std::string> Program::metadata_text(std::string_view key) const {
  return detail::guarded([&]() -> Result<std::string> {
    if (Status s = check_entry(state_->program, key, fb::MetaValue::Text, "text"); !s.ok()) return s;
    return state_->program.metadata_text(key);
  });
}

Result<std::vector<int64_t>> Program::metadata_ints(std::string_view key) const {
  return detail::guarded([&]() -> Result<std::vector<int64_t>> {
    if (Status s = check_entry(state_->program, key, fb::MetaValue::IntTensor, "an integer tensor"); !s.ok()) return s;
    return state_->program.metadata_int_tensor(key).values;
  });
}

}  // namespace pte
