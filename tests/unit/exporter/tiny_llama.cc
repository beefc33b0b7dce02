#include "tiny_llama.h"

#include "exporter/checkpoint/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace pte::testing {

std::string make_temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("pte_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::map<std::string, TinyTensor> tiny_llama_tensors(bool with_output, int layers) {
  std::map<std::string, TinyTensor> t;
  uint32_t state = 12345;
  auto make = [&](std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    TinyTensor x{shape, {}};
    for (int64_t i = 0; i < n; ++i) {
      state = state * 1664525u + 1013904223u;
      x.values.push_back(static_cast<float>(static_cast<int32_t>(state >> 8) % 1000) / 4000.0f);
    }
    return x;
  };
  t["tok_embeddings.weight"] = make({10, 8});
  for (int l = 0; l < layers; ++l) {
    std::string p = "layers." + std::to_string(l) + ".";
    t[p + "attention_norm.weight"] = make({8});
    t[p + "ffn_norm.weight"] = make({8});
    t[p + "attention.wq.weight"] = make({8, 8});
    t[p + "attention.wk.weight"] = make({4, 8});
    t[p + "attention.wv.weight"] = make({4, 8});
    t[p + "attention.wo.weight"] = make({8, 8});
    t[p + "feed_forward.w1.weight"] = make({24, 8});
    t[p + "feed_forward.w2.weight"] = make({8, 24});
    t[p + "feed_forward.w3.weight"] = make({24, 8});
  }
  t["norm.weight"] = make({8});
  if (with_output) t["output.weight"] = make({10, 8});
  return t;
}

void write_safetensors(const std::string& path, const std::map<std::string, TinyTensor>& tensors) {
  std::string header = "{";
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (header.size() > 1) header += ",";
    header += "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i) header += ',';  // not `"," + std::to_string(...)`: GCC 12 warns (-Wrestrict) on that
      header += std::to_string(t.shape[i]);
    }
    uint64_t bytes = t.values.size() * 4;
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  std::ofstream out(path, std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const auto& [name, t] : tensors)
    out.write(reinterpret_cast<const char*>(t.values.data()), static_cast<std::streamsize>(t.values.size() * 4));
}

TinyLlamaFiles write_tiny_llama(const std::string& name, bool with_output,
                                const std::map<std::string, TinyTensor>& overrides,
                                const std::vector<std::string>& remove, int layers) {
  TinyLlamaFiles f;
  f.dir = make_temp_dir(name);
  f.checkpoint = f.dir + "/model.safetensors";
  f.params = f.dir + "/params.json";
  auto tensors = tiny_llama_tensors(with_output, layers);
  for (const auto& [k, v] : overrides) tensors[k] = v;
  for (const std::string& k : remove) tensors.erase(k);
  write_safetensors(f.checkpoint, tensors);
  std::ofstream(f.params) << R"({"dim": 8, "n_layers": )" << layers
                      << R"(, "n_heads": 2, "n_kv_heads": 1, "vocab_size": 10, "multiple_of": 8, "norm_eps": 1e-5})";
  return f;
}

LoraAdapter tiny_adapter(const std::string& dir) {
  std::map<std::string, TinyTensor> t;
  auto ramp = [](int64_t n, float start, float step) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i % 7);
    return v;
  };
  t["q.A"] = {{2, 8}, ramp(16, 0.1f, 0.01f)};
  t["q.B"] = {{8, 2}, ramp(16, 0.2f, -0.03f)};
  t["w2.A"] = {{2, 24}, ramp(48, 0.1f, 0.02f)};
  t["w2.B"] = {{8, 2}, ramp(16, -0.2f, 0.05f)};
  write_safetensors(dir + "/adapter.safetensors", t);
  LoraAdapter a;
  a.name = "style";
  a.rank = 2;
  a.alpha = 4;
  a.scale = 2;
  a.target_modules = {"q_proj", "down_proj"};
  a.targets = {{1, LinearModule::WQ, "q.A", "q.B", 8, 8}, {1, LinearModule::W2, "w2.A", "w2.B", 24, 8}};
  a.checkpoint = open_checkpoint(dir + "/adapter.safetensors");
  return a;
}

}  // namespace pte::testing
