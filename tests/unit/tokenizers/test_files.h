#pragma once
// Scaffolding of the tokenizer tests: whole files and fresh temporary paths.
#include <string>

namespace pte::testing {

std::string read_file(const std::string& path);
// Writes `bytes` to a new temporary file and returns its path.
std::string write_temp(const std::string& name, const std::string& bytes);

}  // namespace pte::testing
