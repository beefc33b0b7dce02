#pragma once
// Code points of UTF-8 text that is known to be valid.
#include <cstdint>
#include <string>
#include <string_view>

namespace pte::tokenizers {

void append_utf8(std::string& out, uint32_t code_point);
// The code point at `pos` (advanced past it). Malformed bytes read as themselves, one at a time.
uint32_t next_code_point(std::string_view text, size_t& pos);
// The length in bytes of the character starting at `pos` (1 for a malformed byte).
size_t char_length(std::string_view text, size_t pos);

}  // namespace pte::tokenizers
