#pragma once
// Typed reads of the fields of a JSON object from a model's config file (params.json,
// config.json), each failure one pte::Error naming the file and the field: "<path>: <noun>
// '<name>' must be ...". A null value counts as absent (Meta's and HF's files use null for
// "the default").
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pte {

class JsonFields {
 public:
  // `noun` is how messages call an entry ("field", "key"); integers above `max_integer` are refused.
  JsonFields(const std::string& path, const nlohmann::json& json, const char* noun, int64_t max_integer)
      : path_(path), json_(json), noun_(noun), max_integer_(max_integer) {}

  [[noreturn]] void fail(const std::string& name, const std::string& what) const {
    throw Error(path_ + ": " + noun_ + " '" + name + "' " + what);
  }

  // nullptr when absent or null.
  const nlohmann::json* field(const char* name) const {
    auto it = json_.find(name);
    return it == json_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<int64_t> integer(const char* name) const {
    const nlohmann::json* v = field(name);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) fail(name, "must be an integer, found " + v->dump());
    if (v->is_number_unsigned() ? v->get<uint64_t>() > static_cast<uint64_t>(max_integer_)
                                : v->get<int64_t>() > max_integer_)
      fail(name, "is " + v->dump() + ", too large");
    return v->get<int64_t>();
  }

  // A finite positive number; `v` instead of the field `name` when given (a nested value).
  std::optional<double> number(const char* name, const nlohmann::json* v = nullptr) const {
    if (!v) v = field(name);
    if (!v) return std::nullopt;
    if (!v->is_number()) fail(name, "must be a number, found " + v->dump());
    const double d = v->get<double>();
    if (!std::isfinite(d) || d <= 0) fail(name, "must be a positive number, found " + v->dump());
    return d;
  }

  std::optional<bool> boolean(const char* name) const {
    const nlohmann::json* v = field(name);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(name, "must be true or false, found " + v->dump());
    return v->get<bool>();
  }

 protected:
  const std::string& path_;
  const nlohmann::json& json_;

 private:
  const char* noun_;
  int64_t max_integer_;
};

}  // namespace pte
