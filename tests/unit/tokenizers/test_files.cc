#include "tests/unit/tokenizers/test_files.h"

#include <unistd.h>

#include <fstream>
#include <iterator>

namespace pte::testing {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  static int counter = 0;
  const std::string path = "/tmp/pte-tokenizer-test-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter++) + "-" + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace pte::testing
