#pragma once
// Test helper: writes a tiny Llama (safetensors + params.json) into a fresh temporary folder.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exporter/adapter/lora_adapter.h"
#include "exporter/program/export_options.h"

namespace pte::testing {

// Options for the tiny Llama: no quantization, context 16, 4 tokens per call.
inline ExportOptions tiny_options(DType dtype = DType::F32) {
  ExportOptions o;
  o.dtype = dtype;
  o.embedding_quantize = std::nullopt;
  o.linear_quantize = LinearQuantization::None;
  o.max_context_len = 16;
  o.input_len = 4;
  return o;
}

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

// Adapter "style" on wq and w2 of layer 1 of the tiny Llama, rank 2, scale 2; its
// safetensors file is written into `dir`.
LoraAdapter tiny_adapter(const std::string& dir);

}  // namespace pte::testing
