// params.json (Meta) → model parameters.
#include <cstdint>

#include "common/error.h"
#include "exporter/checkpoint/model_params.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pte::fuzz::MemoryFile file(data, size);
  try {
    pte::read_model_params(file.path());
  } catch (const pte::Error&) {
  }
  return 0;
}
