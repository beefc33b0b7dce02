#include "tokenizers/hf_normalizer.h"

#include <cstdlib>
#include <utf8proc.h>

#include "common/error.h"
#include "tokenizers/hf_fields.h"

namespace pte::tokenizers {
namespace {

std::string unicode_normalize(const std::string& text, const std::string& form) {
  int options = UTF8PROC_STABLE;
  if (form == "NFC") options |= UTF8PROC_COMPOSE;
  else if (form == "NFD") options |= UTF8PROC_DECOMPOSE;
  else if (form == "NFKC") options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  else options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) throw Error(std::string("Unicode normalization failed: ") + utf8proc_errmsg(n));
  std::string result(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::string replace_all(const std::string& text, const std::string& pattern, const SplitRegex* regex,
                        const std::string& content) {
  std::string out;
  size_t last = 0;
  if (regex) {
    for (auto [b, e] : regex->matches(text)) {
      out.append(text, last, b - last);
      out += content;
      last = e;
    }
  } else if (!pattern.empty()) {
    for (size_t pos = text.find(pattern); pos != std::string::npos; pos = text.find(pattern, last)) {
      out.append(text, last, pos - last);
      out += content;
      last = pos + pattern.size();
    }
  }
  out.append(text, last, std::string::npos);
  return out;
}

HfNormalizer::HfNormalizer(const nlohmann::json& config, const std::string& where) {
  if (!config.is_null()) add(config, where + ": normalizer");
}

void HfNormalizer::add(const nlohmann::json& config, const std::string& where) {
  const std::string type = component_type(config, where);
  HfFields f{config, where + " " + type};
  Step s{type, "", "", nullptr};
  if (type == "Sequence") {
    if (!config.contains("normalizers") || !config["normalizers"].is_array()) f.fail("expected an array 'normalizers'");
    for (const nlohmann::json& c : config["normalizers"]) add(c, where);
    return;
  } else if (type == "Prepend") {
    s.a = f.string("prepend");
  } else if (type == "Replace") {
    auto [pattern, is_regex] = f.pattern("pattern");
    s.a = pattern;
    s.b = f.string("content");
    if (is_regex) s.regex = std::make_shared<SplitRegex>(pattern, f.where);
  } else if (type == "Strip") {
    s.left = f.boolean("strip_left", true);
    s.right = f.boolean("strip_right", true);
  } else if (type != "NFC" && type != "NFD" && type != "NFKC" && type != "NFKD") {
    f.fail("normalizer type '" + type + "' is not supported (supported: Sequence, Prepend, Replace, Strip, NFC, NFD, "
           "NFKC, NFKD)");
  }
  steps_.push_back(std::move(s));
}

std::string HfNormalizer::normalize(std::string text) const {
  for (const Step& s : steps_) {
    if (s.type == "Prepend") {
      if (!text.empty()) text = s.a + text;
    } else if (s.type == "Replace") {
      text = replace_all(text, s.a, s.regex.get(), s.b);
    } else if (s.type == "Strip") {
      size_t b = 0, e = text.size();
      if (s.left) while (b < e && is_space(text[b])) ++b;
      if (s.right) while (e > b && is_space(text[e - 1])) --e;
      text = text.substr(b, e - b);
    } else {
      text = unicode_normalize(text, s.type);
    }
  }
  return text;
}

}  // namespace pte::tokenizers
