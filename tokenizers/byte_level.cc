#include "tokenizers/byte_level.h"

#include <array>
#include <cstdint>

#include "tokenizers/utf8.h"

namespace pte::tokenizers {
namespace {

struct Alphabet {
  std::array<uint32_t, 256> code_point{};
  std::array<int, 324> byte_of{};  // code point (< 324) -> byte, -1 when none
  Alphabet() {
    byte_of.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      code_point[b] = printable ? static_cast<uint32_t>(b) : next++;
      byte_of[code_point[b]] = b;
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

std::string to_byte_level(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) append_utf8(out, alphabet().code_point[b]);
  return out;
}

bool from_byte_level(std::string_view token, std::string& out) {
  out.clear();
  size_t i = 0;
  while (i < token.size()) {
    const uint32_t cp = next_code_point(token, i);
    if (cp >= alphabet().byte_of.size() || alphabet().byte_of[cp] < 0) return false;
    out += static_cast<char>(alphabet().byte_of[cp]);
  }
  return true;
}

}  // namespace pte::tokenizers
