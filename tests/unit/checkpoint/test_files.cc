#include "test_files.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace pte::test {

std::string fixture(const std::string& name) {
  const char* dir = std::getenv("PTE_CHECKPOINT_FIXTURES");
  if (!dir) {
    ADD_FAILURE() << "PTE_CHECKPOINT_FIXTURES is not set (run through ctest)";
    return name;
  }
  return std::string(dir) + "/" + name;
}

std::string write_scratch(const std::string& name, std::string_view bytes) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "pte_checkpoint_tests";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace pte::test
