#include "tokenizers/hf_fields.h"

#include "common/error.h"

namespace pte::tokenizers {

void HfFields::fail(const std::string& what) const { throw Error(where + ": " + what); }

std::string HfFields::string(const char* field) const {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string())
    fail(std::string("expected a string field '") + field + "', found " + (it == object.end() ? "none" : it->dump()));
  return it->get<std::string>();
}

bool HfFields::boolean(const char* field, bool fallback) const {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(std::string("expected true or false for '") + field + "', found " + it->dump());
  return it->get<bool>();
}

int64_t HfFields::integer(const char* field, int64_t fallback) const {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(std::string("expected an integer for '") + field + "', found " + it->dump());
  return it->get<int64_t>();
}

std::pair<std::string, bool> HfFields::pattern(const char* field) const {
  auto it = object.find(field);
  if (it != object.end() && it->is_object() && it->size() == 1) {
    if (auto s = it->find("String"); s != it->end() && s->is_string()) return {s->get<std::string>(), false};
    if (auto r = it->find("Regex"); r != it->end() && r->is_string()) return {r->get<std::string>(), true};
  }
  fail(std::string("expected '") + field + "' to be {\"String\": ...} or {\"Regex\": ...}, found " +
       (it == object.end() ? "none" : it->dump()));
}

std::string component_type(const nlohmann::json& component, const std::string& where) {
  if (!component.is_object() || !component.contains("type") || !component["type"].is_string())
    throw Error(where + ": expected an object with a string \"type\", found " + component.dump().substr(0, 80));
  return component["type"].get<std::string>();
}

}  // namespace pte::tokenizers
