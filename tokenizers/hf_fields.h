#pragma once
// Reading the fields of a tokenizer.json component, with errors that name the file, the
// component and the field.
#include <string>

#include <nlohmann/json.hpp>

namespace pte::tokenizers {

struct HfFields {
  const nlohmann::json& object;
  std::string where;  // "<file>: pre_tokenizer Split"

  [[noreturn]] void fail(const std::string& what) const;
  std::string string(const char* field) const;  // required
  bool boolean(const char* field, bool fallback) const;  // absent or null: fallback
  int64_t integer(const char* field, int64_t fallback) const;
  // A {"String": s} or {"Regex": r} pattern: s or r, and whether it is a regex.
  std::pair<std::string, bool> pattern(const char* field) const;
};

// The "type" of a component object; throws naming `where` when it has none.
std::string component_type(const nlohmann::json& component, const std::string& where);

}  // namespace pte::tokenizers
