#include "tokenizers/hf_pre_tokenizer.h"

#include "common/error.h"
#include "tokenizers/byte_level.h"
#include "tokenizers/hf_fields.h"
#include "tokenizers/hf_normalizer.h"

namespace pte::tokenizers {
namespace {

const char* const kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// [begin, end) of every occurrence of `literal`.
std::vector<std::pair<size_t, size_t>> literal_matches(const std::string& text, const std::string& literal) {
  std::vector<std::pair<size_t, size_t>> out;
  if (literal.empty()) return out;
  for (size_t pos = text.find(literal); pos != std::string::npos; pos = text.find(literal, pos + literal.size()))
    out.emplace_back(pos, pos + literal.size());
  return out;
}

}  // namespace

HfPreTokenizer::HfPreTokenizer(const nlohmann::json& config, const std::string& where) {
  if (!config.is_null()) add(config, where + ": pre_tokenizer");
}

void HfPreTokenizer::add(const nlohmann::json& config, const std::string& where) {
  const std::string type = component_type(config, where);
  HfFields f{config, where + " " + type};
  Step s;
  s.type = type;
  if (type == "Sequence") {
    if (!config.contains("pretokenizers") || !config["pretokenizers"].is_array())
      f.fail("expected an array 'pretokenizers'");
    for (const nlohmann::json& c : config["pretokenizers"]) add(c, where);
    return;
  } else if (type == "Split") {
    auto [pattern, is_regex] = f.pattern("pattern");
    if (is_regex) s.regex = std::make_shared<SplitRegex>(pattern, f.where);
    else s.literal = pattern;
    const std::string behavior = f.string("behavior");
    if (behavior == "Isolated") s.behavior = Behavior::Isolated;
    else if (behavior == "Removed") s.behavior = Behavior::Removed;
    else if (behavior == "MergedWithPrevious") s.behavior = Behavior::MergedWithPrevious;
    else if (behavior == "MergedWithNext") s.behavior = Behavior::MergedWithNext;
    else if (behavior == "Contiguous") s.behavior = Behavior::Contiguous;
    else f.fail("behavior '" + behavior + "' is not supported");
    s.invert = f.boolean("invert", false);
  } else if (type == "ByteLevel") {
    s.add_prefix_space = f.boolean("add_prefix_space", true);
    if (f.boolean("use_regex", true)) s.regex = std::make_shared<SplitRegex>(kGpt2Pattern, f.where);
  } else if (type == "Metaspace") {
    s.literal = f.string("replacement");
    if (config.contains("prepend_scheme")) s.prepend_scheme = f.string("prepend_scheme");
    else s.prepend_scheme = f.boolean("add_prefix_space", true) ? "always" : "never";
    if (s.prepend_scheme != "always" && s.prepend_scheme != "first" && s.prepend_scheme != "never")
      f.fail("prepend_scheme '" + s.prepend_scheme + "' is not supported");
    s.metaspace_split = f.boolean("split", true);
  } else if (type == "Digits") {
    // ASCII digits only, as Hugging Face's (is_ascii_digit): "١٢٣" is not split.
    s.regex = std::make_shared<SplitRegex>(f.boolean("individual_digits", false) ? "[0-9]" : "[0-9]+", f.where);
  } else {
    f.fail("pre-tokenizer type '" + type + "' is not supported (supported: Sequence, Split, ByteLevel, Metaspace, "
           "Digits)");
  }
  steps_.push_back(std::move(s));
}

bool HfPreTokenizer::byte_level() const {
  for (const Step& s : steps_)
    if (s.type == "ByteLevel") return true;
  return false;
}

std::vector<std::string> HfPreTokenizer::apply(const Step& s, const std::string& piece, bool at_start) const {
  std::string text = piece;
  Behavior behavior = s.behavior;
  bool invert = s.invert;
  std::vector<std::pair<size_t, size_t>> matches;
  if (s.type == "ByteLevel") {
    if (s.add_prefix_space && !text.empty() && text[0] != ' ') text = " " + text;
    if (s.regex) matches = s.regex->matches(text);
    else matches = {{0, text.size()}};
  } else if (s.type == "Metaspace") {
    text = replace_all(text, " ", nullptr, s.literal);
    const bool prepend = s.prepend_scheme == "always" || (s.prepend_scheme == "first" && at_start);
    if (prepend && text.compare(0, s.literal.size(), s.literal) != 0) text = s.literal + text;
    if (!s.metaspace_split) return {text};
    matches = literal_matches(text, s.literal);
    behavior = Behavior::MergedWithNext;
    invert = false;
  } else {
    matches = s.regex ? s.regex->matches(text) : literal_matches(text, s.literal);
  }

  // The text as alternating runs, each flagged as a match or not (flipped by invert).
  std::vector<std::pair<std::string, bool>> runs;
  size_t last = 0;
  for (auto [b, e] : matches) {
    if (b > last) runs.emplace_back(text.substr(last, b - last), invert);
    runs.emplace_back(text.substr(b, e - b), !invert);
    last = e;
  }
  if (last < text.size()) runs.emplace_back(text.substr(last), invert);

  std::vector<std::string> out;
  bool previous_match = false;
  for (auto& [run, is_match] : runs) {
    switch (behavior) {
      case Behavior::Isolated: out.push_back(run); break;
      case Behavior::Removed: if (!is_match) out.push_back(run); break;
      case Behavior::MergedWithPrevious:
        if (is_match && !out.empty()) out.back() += run; else out.push_back(run);
        break;
      case Behavior::MergedWithNext:
        if (previous_match && !out.empty()) out.back() += run; else out.push_back(run);
        break;
      case Behavior::Contiguous:
        if (is_match && previous_match && !out.empty()) out.back() += run; else out.push_back(run);
        break;
    }
    previous_match = is_match;
  }
  if (s.type == "ByteLevel")
    for (std::string& p : out) p = to_byte_level(p);
  return out;
}

std::vector<std::string> HfPreTokenizer::split(const std::string& section, bool at_start) const {
  std::vector<std::string> pieces{section};
  for (const Step& s : steps_) {
    std::vector<std::string> next;
    for (size_t i = 0; i < pieces.size(); ++i)
      for (std::string& p : apply(s, pieces[i], at_start && i == 0)) next.push_back(std::move(p));
    pieces = std::move(next);
  }
  return pieces;
}

}  // namespace pte::tokenizers
