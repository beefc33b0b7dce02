#pragma once
// Parsing of JSON that comes from outside (params.json, config.json, safetensors headers,
// adapter configs, index files, tokenizer files, a .pte's metadata). Untrusted text gets bounds:
// nesting deeper than kMaxJsonDepth is refused before any deep value exists (nothing later
// recurses into a deep tree), objects are kept in std::map (O(n log n) in the number of keys,
// where ordered_json inserts by linear search), and a key repeated in one object is an error
// instead of "the last one wins". Every failure is a pte::Error naming `source`.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pte {

inline constexpr int kMaxJsonDepth = 64;

struct ParsedJson {
  nlohmann::json value;  // objects are std::map: for text order, use parse_untrusted_json_members
};

// `what` names the text in messages, e.g. "/m/config.json" or "/m/x.safetensors: header".
ParsedJson parse_untrusted_json(std::string_view text, const std::string& what);

// The same bounds for a top-level object too large to hold as one value (a safetensors header
// of a million tensors): each member is built alone and handed to `on_member` in text order,
// then dropped. A non-object top level or a repeated member key is an error.
using JsonMemberCallback = std::function<void(const std::string& key, nlohmann::json&& value)>;
void parse_untrusted_json_members(std::string_view text, const std::string& what, const JsonMemberCallback& on_member);

// Reads a whole small file (a config, not a checkpoint) after checking that it is a regular
// file: a FIFO, a device or a directory is refused without blocking. `max_bytes` bounds it.
std::string read_small_file(const std::string& path, size_t max_bytes = 64u << 20);

// Warnings about many fields of the same kind ("unknown field ..."): the first `limit` are
// kept, the rest are counted and summarised in one line.
class CappedWarnings {
 public:
  explicit CappedWarnings(size_t limit = 20) : limit_(limit) {}
  void add(std::string warning);
  // The kept warnings, then "... and N more <kind>" when some were dropped.
  std::vector<std::string> lines(const std::string& kind) const;

 private:
  size_t limit_;
  size_t dropped_ = 0;
  std::vector<std::string> kept_;
};

}  // namespace pte
