#pragma once
// The "decoder" of a tokenizer.json: turns the tokens of some ids back into text. Supported:
// Sequence, ByteLevel, Metaspace, Replace (string), ByteFallback, Fuse, Strip. Any other type is
// an error naming it. Bytes are returned as they are: a byte sequence that is not UTF-8 is not
// replaced by U+FFFD (StreamDecoder needs the raw bytes to hold an unfinished character back).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pte::tokenizers {

class HfDecoder {
 public:
  HfDecoder(const nlohmann::json& config, const std::string& where);
  std::string decode(std::vector<std::string> tokens) const;

 private:
  struct Step {
    std::string type;
    std::string a, b;  // Replace: a -> b; Metaspace: replacement a; Strip: content a
    bool strip_first_space = false;  // Metaspace
    int64_t start = 0, stop = 0;     // Strip
  };
  void add(const nlohmann::json& config, const std::string& where);
  bool none_ = true;
  std::vector<Step> steps_;
};

}  // namespace pte::tokenizers
