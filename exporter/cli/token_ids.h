#pragma once
// Token ids given on the command line (--prompt_ids 1,403,407): each a decimal integer in
// [0, INT32_MAX]. An empty list (--prompt_ids "") is an error, never a silent 0.
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace pte::cli {

inline std::vector<int32_t> parse_token_ids(const std::vector<std::string>& words, const char* flag,
                                            bool allow_empty = false) {
  std::vector<int32_t> ids;
  for (const std::string& w : words) {
    int64_t id = 0;
    auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), id);
    if (w.empty() || ec != std::errc() || end != w.data() + w.size())
      throw Error(std::string(flag) + ": expected comma-separated token ids, found '" + w + "'");
    if (id < 0 || id > INT32_MAX)
      throw Error(std::string(flag) + ": token id " + w + " is out of range [0, 2147483647]");
    ids.push_back(static_cast<int32_t>(id));
  }
  if (ids.empty() && !allow_empty) throw Error(std::string(flag) + ": at least one token id is needed");
  return ids;
}

}  // namespace pte::cli
