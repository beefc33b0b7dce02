// Checkpoint readers (.pth zip + pickle, legacy .pth, safetensors: open_checkpoint picks by the
// leading bytes), then every tensor view read, as a weight recipe would.
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "exporter/checkpoint/checkpoint.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pte::fuzz::MemoryFile file(data, size);
  try {
    std::unique_ptr<pte::Checkpoint> c = pte::open_checkpoint(file.path());
    for (const pte::TensorView& t : c->tensors()) {
      if (t.numel() > (int64_t{1} << 20)) continue;
      if (pte::is_float(t.dtype)) {
        std::vector<float> values(static_cast<size_t>(t.numel()));
        t.read_f32(values.data());
      }
      c->release(t);
    }
  } catch (const pte::Error&) {
  }
  return 0;
}
