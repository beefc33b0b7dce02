#include "exporter/tokenizer/tokenizer_files.h"

#include <sys/stat.h>

#include "common/regular_file.h"

namespace pte {
namespace {

bool is_regular_file(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string existing(const std::string& folder, const char* name) {
  std::string path = folder;
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append(name);
  return is_regular_file(path) ? path : "";
}

}  // namespace

TokenizerFiles pick_tokenizer_files(const std::string& folder) {
  TokenizerFiles f;
  f.tokenizer = existing(folder, "tokenizer.json");
  if (f.tokenizer.empty()) f.tokenizer = existing(folder, "tokenizer.model");
  f.tokenizer_config = existing(folder, "tokenizer_config.json");
  f.generation_config = existing(folder, "generation_config.json");
  return f;
}

TokenizerFiles tokenizer_files_for(const std::string& tokenizer_path) {
  TokenizerFiles f;
  f.tokenizer = tokenizer_path;
  const std::string folder = folder_of(tokenizer_path);
  f.tokenizer_config = existing(folder, "tokenizer_config.json");
  f.generation_config = existing(folder, "generation_config.json");
  return f;
}

}  // namespace pte
