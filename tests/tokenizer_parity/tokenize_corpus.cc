// pte's side of the tokenizer parity tests: for each string of a JSON array, the ids pte's
// tokenizer gives, its decode of them, and what streaming decode printed (hex of the bytes),
// or the error. Usage: tokenize_corpus TOKENIZER_FILE STRINGS.json
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_input.h"
#include "tokenizers/stream_decoder.h"
#include "tokenizers/tokenizer.h"

namespace {

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: tokenize_corpus TOKENIZER_FILE STRINGS.json\n");
    return 2;
  }
  try {
    auto tokenizer = pte::tokenizers::load_tokenizer_file(argv[1]);
    nlohmann::json strings = pte::parse_untrusted_json(pte::read_small_file(argv[2]), argv[2]).value;
    nlohmann::json out = nlohmann::json::array();
    for (const nlohmann::json& s : strings) {
      try {
        std::vector<int32_t> ids = tokenizer->encode(s.get<std::string>());
        pte::tokenizers::StreamDecoder stream(*tokenizer);
        std::string streamed;
        for (int32_t id : ids) streamed += stream.push(id);
        streamed += stream.finish();
        out.push_back({{"ids", ids}, {"text", hex(tokenizer->decode(ids))}, {"streamed", hex(streamed)}});
      } catch (const pte::Error& e) {
        out.push_back({{"error", e.what()}});
      }
    }
    std::printf("%s\n", out.dump().c_str());
  } catch (const pte::Error& e) {
    std::fprintf(stderr, "tokenize_corpus: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
