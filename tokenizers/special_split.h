#pragma once
// Cutting text at special-token text: each occurrence (the leftmost first, the longest of those
// starting there) becomes its own section.
#include <string>
#include <string_view>
#include <vector>

namespace pte::tokenizers {

struct SpecialSplit {
  std::string_view text;  // the section's text
  int special = -1;       // index into the token list, or -1 for ordinary text
};

// Ordinary sections may be empty only when the text is.
std::vector<SpecialSplit> split_on_specials(std::string_view text, const std::vector<std::string>& tokens);

}  // namespace pte::tokenizers
