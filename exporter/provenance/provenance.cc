#include "exporter/provenance/provenance.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/mapped_file.h"
#include "common/sha256.h"
#include "schema/metadata_keys.h"

namespace pte {
namespace {

std::string sha256_of_file(const MappedFile& file) {
  Sha256 h;
  constexpr size_t kChunk = size_t{64} << 20;  // drop each chunk's pages once hashed
  for (size_t offset = 0; offset < file.size(); offset += kChunk) {
    const size_t n = std::min(kChunk, file.size() - offset);
    h.update(file.data() + offset, n);
    file.release(file.data() + offset, n);
  }
  return to_hex(h.finish());
}

}  // namespace

std::string model_name_of(const std::string& checkpoint_path) {
  std::string path = checkpoint_path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string folder = path.substr(0, slash);
    const std::string name = folder.substr(folder.rfind('/') == std::string::npos ? 0 : folder.rfind('/') + 1);
    if (!name.empty() && name != "." && name != "..") return name;
  }
  std::string file = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = file.find('.');
  return dot == std::string::npos || dot == 0 ? file : file.substr(0, dot);
}

SourceHashes::SourceHashes(std::vector<SourceFile> files) : files_(std::move(files)) {
  for (const SourceFile& f : files_) maps_.push_back(std::make_unique<MappedFile>(f.path));
  worker_ = std::thread([this] {
    try {
      for (const auto& m : maps_) hashes_.push_back(sha256_of_file(*m));
    } catch (...) {
      error_ = std::current_exception();
    }
  });
}

SourceHashes::~SourceHashes() {
  if (worker_.joinable()) worker_.join();
}

std::string SourceHashes::to_json(const std::vector<std::string>& hashes) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (size_t i = 0; i < files_.size(); ++i)
    list.push_back({{"role", files_[i].role}, {"path", files_[i].path}, {"size", maps_[i]->size()}, {"sha256", hashes[i]}});
  return list.dump();
}

std::string SourceHashes::placeholder_json() const {
  return to_json(std::vector<std::string>(files_.size(), std::string(64, '0')));
}

std::string SourceHashes::json() {
  if (worker_.joinable()) worker_.join();
  if (error_) std::rethrow_exception(error_);
  return to_json(hashes_);
}

void add_provenance(Program& program, const std::string& name, const SourceHashes& hashes) {
  program.metadata[meta::kName] = TextValue{name};
  program.metadata[meta::kArchitecture] = TextValue{"llama"};
  program.metadata[meta::kSourceFiles] = TextValue{hashes.placeholder_json()};
}

}  // namespace pte
