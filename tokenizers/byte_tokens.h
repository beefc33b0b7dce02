#pragma once
// Byte-fallback tokens, "<0xNN>" (two hex digits, SentencePiece's spelling).
#include <string>
#include <string_view>

namespace pte::tokenizers {

// The byte a "<0xNN>" token stands for, or -1 when `token` is not one.
int byte_token_value(std::string_view token);
// "0A": two upper-case hex digits.
std::string hex_byte(unsigned char b);
// "<0x0A>".
inline std::string byte_token(unsigned char b) { return "<0x" + hex_byte(b) + ">"; }

}  // namespace pte::tokenizers
