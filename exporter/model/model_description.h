#pragma once
// The architecture the model builder consumes, whatever file described it (Meta params.json
// or a Hugging Face config.json): dimensions, norms, RoPE, the per-family options, and which
// tensor layout (names, q/k row order) the checkpoint uses. A new family is a new way to fill
// this struct (and, at most, one new operator in the builder).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exporter/checkpoint/model_params.h"
#include "exporter/model/linear_module.h"

namespace pte {

// Meta: `tok_embeddings.weight`, `layers.N.attention.wq.weight`, q/k rows in interleaved order.
// HuggingFace: `model.embed_tokens.weight`, `model.layers.N.self_attn.q_proj.weight`, q/k rows
// (and their biases and q/k norm weights) in rotate-half order, permuted on import (SPEC §2).
enum class TensorLayout { Meta, HuggingFace };

// Llama-3 frequency scaling (SPEC §2): HF rope_scaling {"rope_type": "llama3", ...}, or Meta's
// use_scaled_rope with rope_scale_factor.
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_context = 8192.0;
};

struct ModelDescription {
  std::string source;        // the params.json / config.json it was read from
  std::string architecture;  // "Llama (Meta params.json)", "Qwen3ForCausalLM", ...
  TensorLayout layout = TensorLayout::Meta;
  int64_t dim = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t hidden_dim = 0;
  int64_t vocab_size = -1;  // <= 0: taken from the embedding
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  std::optional<Llama3RopeScaling> rope_scaling;
  bool qkv_bias = false;  // q, k, v projections have a bias (Qwen2)
  bool o_bias = false;    // o projection has a bias (Llama attention_bias)
  bool mlp_bias = false;  // gate, up, down projections have a bias (Llama mlp_bias)
  bool qk_norm = false;   // per-head RMSNorm of q and k before RoPE (Qwen3)
  // nullopt: the Meta rule (the head is tied when output.weight is absent).
  std::optional<bool> tie_word_embeddings;
  std::optional<int64_t> bos_id;
  std::vector<int64_t> eos_ids;
  std::vector<std::string> warnings;  // e.g. unknown params.json fields
  std::vector<std::string> notes;     // e.g. config.json keys ignored as harmless

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  bool has_bias(LinearModule m) const;
};

// The description of a Meta params.json (tensor layout Meta).
ModelDescription describe_meta_model(const ModelParams& params, const std::string& source = "params.json");

// Tensor names of a layout. `layer` numbers the block; names end in ".weight" or ".bias".
struct TensorNames {
  TensorLayout layout;
  std::string embedding() const;
  std::string final_norm() const;
  std::string output() const;
  std::string attention_norm(int64_t layer) const;
  std::string ffn_norm(int64_t layer) const;
  std::string q_norm(int64_t layer) const;
  std::string k_norm(int64_t layer) const;
  std::string linear(int64_t layer, LinearModule m, const char* kind = "weight") const;
};

}  // namespace pte
