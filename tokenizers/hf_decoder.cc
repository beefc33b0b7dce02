#include "tokenizers/hf_decoder.h"

#include "tokenizers/byte_level.h"
#include "tokenizers/byte_tokens.h"
#include "tokenizers/hf_fields.h"
#include "tokenizers/hf_normalizer.h"

namespace pte::tokenizers {

HfDecoder::HfDecoder(const nlohmann::json& config, const std::string& where) {
  if (!config.is_null()) {
    none_ = false;
    add(config, where + ": decoder");
  }
}

void HfDecoder::add(const nlohmann::json& config, const std::string& where) {
  const std::string type = component_type(config, where);
  HfFields f{config, where + " " + type};
  Step s;
  s.type = type;
  if (type == "Sequence") {
    if (!config.contains("decoders") || !config["decoders"].is_array()) f.fail("expected an array 'decoders'");
    for (const nlohmann::json& c : config["decoders"]) add(c, where);
    return;
  } else if (type == "Replace") {
    auto [pattern, is_regex] = f.pattern("pattern");
    if (is_regex) f.fail("a regex pattern is not supported in a Replace decoder");
    s.a = pattern;
    s.b = f.string("content");
  } else if (type == "Metaspace") {
    s.a = f.string("replacement");
    if (config.contains("prepend_scheme")) s.strip_first_space = f.string("prepend_scheme") != "never";
    else s.strip_first_space = f.boolean("add_prefix_space", true);
  } else if (type == "Strip") {
    s.a = f.string("content");
    s.start = f.integer("start", 0);
    s.stop = f.integer("stop", 0);
  } else if (type != "ByteLevel" && type != "ByteFallback" && type != "Fuse") {
    f.fail("decoder type '" + type + "' is not supported (supported: Sequence, ByteLevel, Metaspace, Replace, "
           "ByteFallback, Fuse, Strip)");
  }
  steps_.push_back(std::move(s));
}

std::string HfDecoder::decode(std::vector<std::string> tokens) const {
  if (none_) {
    std::string text;
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
    return text;
  }
  for (const Step& s : steps_) {
    if (s.type == "ByteLevel") {
      std::string all, bytes;
      for (const std::string& t : tokens) all += from_byte_level(t, bytes) ? bytes : t;
      tokens = {all};
    } else if (s.type == "Metaspace") {
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replace_all(tokens[i], s.a, nullptr, " ");
        if (i == 0 && s.strip_first_space && !tokens[i].empty() && tokens[i][0] == ' ') tokens[i].erase(0, 1);
      }
    } else if (s.type == "Replace") {
      for (std::string& t : tokens) t = replace_all(t, s.a, nullptr, s.b);
    } else if (s.type == "ByteFallback") {
      std::vector<std::string> out;
      std::string bytes;  // a run of byte tokens
      for (std::string& t : tokens) {
        if (int b = byte_token_value(t); b >= 0) {
          bytes += static_cast<char>(b);
          continue;
        }
        if (!bytes.empty()) out.push_back(std::move(bytes));
        bytes.clear();
        out.push_back(std::move(t));
      }
      if (!bytes.empty()) out.push_back(std::move(bytes));
      tokens = std::move(out);
    } else if (s.type == "Fuse") {
      std::string all;
      for (const std::string& t : tokens) all += t;
      tokens = {all};
    } else if (s.type == "Strip") {
      for (std::string& t : tokens) {
        size_t b = 0, e = t.size();
        for (int64_t k = 0; k < s.start && t.compare(b, s.a.size(), s.a) == 0 && b < e; ++k) b += s.a.size();
        for (int64_t k = 0; k < s.stop && e >= b + s.a.size() && t.compare(e - s.a.size(), s.a.size(), s.a) == 0; ++k)
          e -= s.a.size();
        t = t.substr(b, e - b);
      }
    }
  }
  std::string text;
  for (const std::string& t : tokens) text += t;
  return text;
}

}  // namespace pte::tokenizers
