#include "tokenizers/special_split.h"

namespace pte::tokenizers {

std::vector<SpecialSplit> split_on_specials(std::string_view text, const std::vector<std::string>& tokens) {
  std::vector<std::vector<size_t>> by_first_byte(256);
  for (size_t i = 0; i < tokens.size(); ++i)
    if (!tokens[i].empty()) by_first_byte[static_cast<unsigned char>(tokens[i][0])].push_back(i);
  std::vector<SpecialSplit> out;
  size_t start = 0;  // of the ordinary text not yet emitted
  size_t pos = 0;
  while (pos < text.size()) {
    int best = -1;
    for (size_t i : by_first_byte[static_cast<unsigned char>(text[pos])]) {
      const std::string& t = tokens[i];
      if (text.compare(pos, t.size(), t) == 0 && (best < 0 || t.size() > tokens[best].size()))
        best = static_cast<int>(i);
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    if (pos > start) out.push_back({text.substr(start, pos - start), -1});
    out.push_back({text.substr(pos, tokens[best].size()), best});
    pos += tokens[best].size();
    start = pos;
  }
  if (start < text.size() || out.empty()) out.push_back({text.substr(start), -1});
  return out;
}

}  // namespace pte::tokenizers
