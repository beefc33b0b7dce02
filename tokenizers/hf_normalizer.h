#pragma once
// The "normalizer" of a tokenizer.json: a list of steps applied to each section of the text
// between added tokens. Supported: Sequence, Prepend, Replace (string or regex), Strip, NFC,
// NFD, NFKC, NFKD (Unicode normalization by utf8proc). Any other type is an error naming it.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizers/split_regex.h"

namespace pte::tokenizers {

class HfNormalizer {
 public:
  // `config` may be null (no normalization). `where` names the file in errors.
  HfNormalizer(const nlohmann::json& config, const std::string& where);
  std::string normalize(std::string text) const;
  bool empty() const { return steps_.empty(); }

 private:
  struct Step {
    std::string type;
    std::string a, b;  // Prepend: a; Replace: pattern a -> content b
    std::shared_ptr<SplitRegex> regex;
    bool left = false, right = false;  // Strip
  };
  void add(const nlohmann::json& config, const std::string& where);
  std::vector<Step> steps_;
};

// Replaces every match of `regex` (or, when null, every occurrence of `pattern`) in `text`.
std::string replace_all(const std::string& text, const std::string& pattern, const SplitRegex* regex,
                        const std::string& content);

}  // namespace pte::tokenizers
