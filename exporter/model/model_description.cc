#include "exporter/model/model_description.h"

namespace pte {

bool ModelDescription::has_bias(LinearModule m) const {
  switch (m) {
    case LinearModule::WQ: case LinearModule::WK: case LinearModule::WV: return qkv_bias;
    case LinearModule::WO: return o_bias;
    default: return mlp_bias;
  }
}

ModelDescription describe_meta_model(const ModelParams& p, const std::string& source) {
  ModelDescription d;
  d.source = source;
  d.architecture = "Llama (Meta params.json)";
  d.layout = TensorLayout::Meta;
  d.dim = p.dim;
  d.n_layers = p.n_layers;
  d.n_heads = p.n_heads;
  d.n_kv_heads = p.n_kv_heads;
  d.head_dim = p.head_dim;
  d.hidden_dim = p.hidden_dim;
  d.vocab_size = p.vocab_size;
  d.norm_eps = p.norm_eps;
  d.rope_theta = p.rope_theta;
  if (p.use_scaled_rope) d.rope_scaling = Llama3RopeScaling{p.rope_scale_factor, 1.0, 4.0, 8192.0};
  d.bos_id = p.bos_idx;
  if (p.eos_idx) d.eos_ids = {*p.eos_idx};
  d.warnings = p.warnings;
  return d;
}

namespace {

std::string layer_prefix(TensorLayout layout, int64_t layer) {
  return (layout == TensorLayout::Meta ? "layers." : "model.layers.") + std::to_string(layer) + ".";
}

}  // namespace

std::string TensorNames::embedding() const {
  return layout == TensorLayout::Meta ? "tok_embeddings.weight" : "model.embed_tokens.weight";
}

std::string TensorNames::final_norm() const {
  return layout == TensorLayout::Meta ? "norm.weight" : "model.norm.weight";
}

std::string TensorNames::output() const {
  return layout == TensorLayout::Meta ? "output.weight" : "lm_head.weight";
}

std::string TensorNames::attention_norm(int64_t layer) const {
  return layer_prefix(layout, layer) +
         (layout == TensorLayout::Meta ? "attention_norm.weight" : "input_layernorm.weight");
}

std::string TensorNames::ffn_norm(int64_t layer) const {
  return layer_prefix(layout, layer) +
         (layout == TensorLayout::Meta ? "ffn_norm.weight" : "post_attention_layernorm.weight");
}

// Meta names are ExecuTorch's (llama_transformer.py's q_norm_fn / k_norm_fn).
std::string TensorNames::q_norm(int64_t layer) const {
  return layer_prefix(layout, layer) +
         (layout == TensorLayout::Meta ? "attention.q_norm_fn.weight" : "self_attn.q_norm.weight");
}

std::string TensorNames::k_norm(int64_t layer) const {
  return layer_prefix(layout, layer) +
         (layout == TensorLayout::Meta ? "attention.k_norm_fn.weight" : "self_attn.k_norm.weight");
}

std::string TensorNames::linear(int64_t layer, LinearModule m, const char* kind) const {
  std::string module = layout == TensorLayout::Meta ? meta_module_name(m)
                                                    : std::string(hf_block_name(m)) + "." + hf_module_name(m);
  return layer_prefix(layout, layer) + module + "." + kind;
}

}  // namespace pte
