#pragma once
// GPT-2's byte-level alphabet: each byte is spelled as one printable code point (bytes 33-126,
// 161-172 and 174-255 as themselves, the other 68 as U+0100, U+0101, ... in byte order), so
// that byte-level BPE vocabularies are text.
#include <string>
#include <string_view>

namespace pte::tokenizers {

// The byte-level spelling (UTF-8) of `bytes`.
std::string to_byte_level(std::string_view bytes);
// The bytes a byte-level token spells, or false when some code point of it is not in the
// alphabet (then `out` is unspecified).
bool from_byte_level(std::string_view token, std::string& out);

}  // namespace pte::tokenizers
