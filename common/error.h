#pragma once
// Every user-facing failure is a pte::Error whose message is one line naming the file, the
// tensor or field, what was expected and what was found. The CLI prints it and exits 1.
#include <stdexcept>
#include <string>

namespace pte {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace pte
