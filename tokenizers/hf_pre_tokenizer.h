#pragma once
// The "pre_tokenizer" of a tokenizer.json: cuts a normalized section into the pieces that BPE
// merges within. Supported: Sequence, Split (string or regex; Isolated, Removed,
// MergedWithPrevious, MergedWithNext, Contiguous; invert), ByteLevel (GPT-2's regex and
// byte alphabet), Metaspace, Digits. Any other type is an error naming it.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizers/split_regex.h"

namespace pte::tokenizers {

class HfPreTokenizer {
 public:
  HfPreTokenizer(const nlohmann::json& config, const std::string& where);
  // `at_start`: the section begins the text (Metaspace's prepend_scheme "first").
  std::vector<std::string> split(const std::string& section, bool at_start) const;
  // Whether a ByteLevel step spells the pieces in the byte alphabet.
  bool byte_level() const;

 private:
  enum class Behavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };
  struct Step {
    std::string type;
    std::string literal;  // Split on a string; Metaspace's replacement
    std::shared_ptr<SplitRegex> regex;
    Behavior behavior = Behavior::Isolated;
    bool invert = false;
    bool add_prefix_space = false;  // ByteLevel
    std::string prepend_scheme;     // Metaspace: always, first, never
    bool metaspace_split = true;
  };
  void add(const nlohmann::json& config, const std::string& where);
  std::vector<std::string> apply(const Step& s, const std::string& piece, bool at_start) const;
  std::vector<Step> steps_;
};

}  // namespace pte::tokenizers
