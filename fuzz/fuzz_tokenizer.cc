// Tokenizer files: llama2.c tokenizer.bin, tiktoken ranks files and Hugging Face tokenizer.json,
// recognised by their bytes as pte export does; then an encode/decode round of a fixed text.
// SentencePiece models are left out: they are parsed by Debian's libsentencepiece (dlopen'ed
// with RTLD_DEEPBIND, which the sanitizer runtime does not support), not by pte's code.
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "tokenizers/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pte::tokenizers;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const TokenizerFormat format = detect_format(bytes, "fuzz input");
    if (format == TokenizerFormat::SentencePiece) return 0;
    auto t = load_tokenizer(format, bytes, "fuzz input");
    const auto ids = t->encode("Once upon a time, \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 <0x41> <|eot_id|>  12345\n\tx");
    t->decode(ids);
  } catch (const pte::Error&) {
  }
  return 0;
}
