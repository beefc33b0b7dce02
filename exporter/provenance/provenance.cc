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

void add_provenance(Program& program, const std::string& name, const std::vector<SourceFile>& files) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const SourceFile& f : files) {
    MappedFile file(f.path);
    list.push_back({{"role", f.role}, {"path", f.path}, {"size", file.size()}, {"sha256", sha256_of_file(file)}});
  }
  program.metadata[meta::kName] = TextValue{name};
  program.metadata[meta::kArchitecture] = TextValue{"llama"};
  program.metadata[meta::kSourceFiles] = TextValue{list.dump()};
}

}  // namespace pte
