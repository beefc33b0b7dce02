#pragma once
// Standard base64 (RFC 4648, '+' '/', '=' padding), as tiktoken ranks files spell tokens.
#include <optional>
#include <string>
#include <string_view>

namespace pte::tokenizers {

bool is_base64_char(char c);
// The bytes, or nullopt when `text` is not base64.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace pte::tokenizers
