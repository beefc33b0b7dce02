// Tokenizer files (llama2.c tokenizer.bin), then an encode/decode round of a fixed text.
#include <cstdint>

#include "common/error.h"
#include "fuzz/fuzz_input.h"
#include "runtime-check/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pte::fuzz::MemoryFile file(data, size);
  try {
    pte::runtime::Tokenizer t(file.path());
    const std::vector<int32_t> ids = t.encode("Once upon a time, \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 <0x41>", true, true);
    t.decode(ids);
  } catch (const pte::Error&) {
  }
  return 0;
}
