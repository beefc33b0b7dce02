#pragma once
// Test helper: writes a tiny Llama (safetensors + params.json) into a fresh temporary folder.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pte::testing {

struct TinyLlamaFiles {
  std::string dir, checkpoint, params;
};

struct TinyTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// dim 8, `layers` layers, 2 heads, 1 kv head, vocab 10, hidden 24 (multiple_of 8).
std::map<std::string, TinyTensor> tiny_llama_tensors(bool with_output, int layers = 2);
void write_safetensors(const std::string& path, const std::map<std::string, TinyTensor>& tensors);
TinyLlamaFiles write_tiny_llama(const std::string& name, bool with_output = true,
                                const std::map<std::string, TinyTensor>& overrides = {},
                                const std::vector<std::string>& remove = {}, int layers = 2);
std::string make_temp_dir(const std::string& name);

}  // namespace pte::testing
