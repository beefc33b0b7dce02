// The model's config: a Meta params.json or a Hugging Face config.json (recognised by its
// `architectures` key, as pte export does) -> the model description.
#include <cstdint>

#include "common/error.h"
#include "exporter/model/model_files.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pte::fuzz::MemoryFile file(data, size);
  try {
    pte::read_model_description(file.path(), 1024);
  } catch (const pte::Error&) {
  }
  return 0;
}
