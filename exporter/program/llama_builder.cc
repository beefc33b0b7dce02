#include "exporter/program/llama_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/float16.h"
#include "exporter/program/rope_tables.h"
#include "schema/metadata_keys.h"

namespace pte {
namespace {

using Attrs = std::vector<std::pair<std::string, AttrValue>>;

// Model dimensions once params.json and the checkpoint agree.
struct LlamaDims {
  ModelParams params;
  int64_t vocab = 0;
  int64_t q_dim = 0, kv_dim = 0;  // n_heads * head_dim, n_kv_heads * head_dim
  std::string output_source;      // "output.weight", or the embedding when tied
};

std::string layer_tensor(int64_t layer, const char* suffix) {
  return "layers." + std::to_string(layer) + "." + suffix;
}

const TensorView& require_tensor(const Checkpoint& ckpt, const std::string& name, const Shape& expected,
                                 const std::string& why) {
  const TensorView* v = ckpt.find(name);
  if (!v) {
    std::string hint;
    if (ckpt.find("model.embed_tokens.weight"))
      hint = " (this looks like a Hugging Face checkpoint; only Meta tensor names are supported yet)";
    throw Error(ckpt.path() + ": tensor '" + name + "' is missing; expected " +
                shape_to_string(expected) + " " + why + hint);
  }
  if (v->shape != expected)
    throw Error(ckpt.path() + ": tensor '" + name + "' has shape " + v->shape_string() +
                ", expected " + shape_to_string(expected) + " " + why);
  if (!is_float(v->dtype))
    throw Error(ckpt.path() + ": tensor '" + name + "' has dtype " + dtype_name(v->dtype) +
                ", expected fp32, fp16 or bf16");
  return *v;
}

LlamaDims resolve_dims(const ModelParams& p, const Checkpoint& ckpt, std::vector<std::string>& log) {
  LlamaDims d;
  d.params = p;
  if (p.head_dim % 2 != 0)
    throw Error("params: head_dim " + std::to_string(p.head_dim) + " is odd; RoPE rotates pairs and needs an even head_dim");
  d.q_dim = p.n_heads * p.head_dim;
  d.kv_dim = p.n_kv_heads * p.head_dim;
  const std::string from_params = "(from params.json: dim " + std::to_string(p.dim) + ", n_heads " +
                                  std::to_string(p.n_heads) + ", n_kv_heads " +
                                  std::to_string(p.n_kv_heads) + ", head_dim " +
                                  std::to_string(p.head_dim) + ", hidden_dim " +
                                  std::to_string(p.hidden_dim) + ")";
  const TensorView* emb = ckpt.find("tok_embeddings.weight");
  if (emb && emb->shape.size() == 2 && p.vocab_size <= 0) d.vocab = emb->shape[0];
  else d.vocab = p.vocab_size;
  if (d.vocab <= 0) d.vocab = 1;  // make the shape check below report the real problem
  std::string vocab_why = p.vocab_size > 0 ? "(vocab_size " + std::to_string(p.vocab_size) + ", dim " + std::to_string(p.dim) + ")"
                                           : "(dim " + std::to_string(p.dim) + ")";
  require_tensor(ckpt, "tok_embeddings.weight", {d.vocab, p.dim}, vocab_why);
  for (int64_t l = 0; l < p.n_layers; ++l) {
    require_tensor(ckpt, layer_tensor(l, "attention_norm.weight"), {p.dim}, from_params);
    require_tensor(ckpt, layer_tensor(l, "attention.wq.weight"), {d.q_dim, p.dim}, from_params);
    require_tensor(ckpt, layer_tensor(l, "attention.wk.weight"), {d.kv_dim, p.dim}, from_params);
    require_tensor(ckpt, layer_tensor(l, "attention.wv.weight"), {d.kv_dim, p.dim}, from_params);
    require_tensor(ckpt, layer_tensor(l, "attention.wo.weight"), {p.dim, d.q_dim}, from_params);
    require_tensor(ckpt, layer_tensor(l, "ffn_norm.weight"), {p.dim}, from_params);
    require_tensor(ckpt, layer_tensor(l, "feed_forward.w1.weight"), {p.hidden_dim, p.dim}, from_params);
    require_tensor(ckpt, layer_tensor(l, "feed_forward.w2.weight"), {p.dim, p.hidden_dim}, from_params);
    require_tensor(ckpt, layer_tensor(l, "feed_forward.w3.weight"), {p.hidden_dim, p.dim}, from_params);
  }
  require_tensor(ckpt, "norm.weight", {p.dim}, from_params);
  if (ckpt.find("output.weight")) {
    require_tensor(ckpt, "output.weight", {d.vocab, p.dim}, vocab_why);
    d.output_source = "output.weight";
  } else {
    d.output_source = "tok_embeddings.weight";
    log.push_back("output.weight is not in the checkpoint: the output head uses tok_embeddings.weight (tied embeddings)");
  }
  std::set<std::string> used = {"tok_embeddings.weight", "norm.weight", "output.weight"};
  for (int64_t l = 0; l < p.n_layers; ++l)
    for (const char* s : {"attention_norm.weight", "attention.wq.weight", "attention.wk.weight",
                          "attention.wv.weight", "attention.wo.weight", "ffn_norm.weight",
                          "feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight"})
      used.insert(layer_tensor(l, s));
  std::vector<std::string> unused;
  for (const TensorView& t : ckpt.tensors())
    if (!used.count(t.name)) unused.push_back(t.name);
  if (!unused.empty()) {
    std::string names;
    for (size_t i = 0; i < unused.size() && i < 5; ++i) names += (i ? ", " : "") + unused[i];
    if (unused.size() > 5) names += ", ...";
    log.push_back(std::to_string(unused.size()) + " checkpoint tensor(s) not used by the model: " + names);
  }
  return d;
}

// Builds one method's whole graph. Pieces are cut later by the graph-breaks pass.
class MethodBuilder {
 public:
  MethodBuilder(const LlamaDims& d, Program& program, DType dtype) : d_(d), program_(program), F_(dtype) {}

  // `select_last`: logits only for the row at input last_valid_token_pos (multifunction).
  Method build(const std::string& name, MethodRole role, int64_t T, int64_t C, bool select_last,
               const LoraAdapter* adapter) {
    const ModelParams& p = d_.params;
    const int64_t L = p.n_layers, H = p.n_kv_heads, D = p.head_dim;
    adapter_ = adapter;
    Method m;
    m.name = name;
    m.role = role;
    if (adapter) m.adapter = adapter->name;
    Graph& g = m.graph;
    auto input = [&](std::string n, DType t, Shape s, IORole r, int layer = -1) {
      m.inputs.push_back(IOSpec{n, t, s, r, layer});
      int v = g.add_value(std::move(n), t, std::move(s));
      g.inputs.push_back(v);
      return v;
    };
    const int tokens = input("tokens", DType::I32, {1, T}, IORole::Tokens);
    const int mask = input("mask", F_, {1, T, C + T}, IORole::Mask);
    const int cos = input("freqs_cos", F_, {T, D / 2}, IORole::FreqsCos);
    const int sin = input("freqs_sin", F_, {T, D / 2}, IORole::FreqsSin);
    std::vector<int> k_cache(L), v_cache(L), k_update(L), v_update(L);
    for (int64_t l = 0; l < L; ++l)
      k_cache[l] = input("k_cache_" + std::to_string(l), F_, {1, H, C, D}, IORole::KCache, int(l));
    for (int64_t l = 0; l < L; ++l)
      v_cache[l] = input("v_cache_" + std::to_string(l), F_, {1, H, C, D}, IORole::VCache, int(l));
    const int last_pos = select_last ? input("last_valid_token_pos", DType::I64, {1}, IORole::LastValidTokenPos) : -1;

    int h = g.add_node("embedding", {weight(g, "tok_embeddings.weight", {d_.vocab, p.dim}), tokens},
                       "embedding_out", F_, {1, T, p.dim}, {}, "embedding");
    for (int64_t l = 0; l < L; ++l) {
      stage_ = "layers." + std::to_string(l);
      layer_ = l;
      h = block(g, l, h, T, mask, cos, sin, k_cache[l], v_cache[l], k_update[l], v_update[l]);
    }
    stage_ = "head";
    layer_ = -1;
    int64_t rows = T;
    if (select_last) {
      h = g.add_node("select_row", {h, last_pos}, "last_hidden", F_, {1, 1, p.dim}, {}, stage_);
      rows = 1;
    }
    int normed = g.add_node("rms_norm", {h, weight(g, "norm.weight", {p.dim})}, "norm_out", F_,
                            {1, rows, p.dim}, {{"eps", p.norm_eps}}, stage_);
    int logits = linear(g, normed, d_.output_source, d_.vocab, p.dim, "logits", rows, std::nullopt);

    m.outputs.push_back(IOSpec{"logits", F_, {1, rows, d_.vocab}, IORole::Logits, -1});
    g.outputs.push_back(logits);
    for (int64_t l = 0; l < L; ++l) {
      m.outputs.push_back(IOSpec{g.values[k_update[l]].name, F_, {1, H, T, D}, IORole::KUpdate, int(l)});
      g.outputs.push_back(k_update[l]);
    }
    for (int64_t l = 0; l < L; ++l) {
      m.outputs.push_back(IOSpec{g.values[v_update[l]].name, F_, {1, H, T, D}, IORole::VUpdate, int(l)});
      g.outputs.push_back(v_update[l]);
    }
    return m;
  }

 private:
  int weight(Graph& g, const std::string& source, Shape shape) {
    WeightRecipe r{"", source, "", {CastStep{F_}}, F_, shape};
    return g.add_weight(program_.add_weight(std::move(r)), F_, std::move(shape));
  }

  // y = x·Wᵀ, plus scale · (x·Aᵀ)·Bᵀ when the adapter targets this linear.
  int linear(Graph& g, int x, const std::string& source, int64_t out, int64_t in, std::string name, int64_t T,
             std::optional<LinearModule> module) {
    const LoraTarget* target = nullptr;
    if (adapter_ && module)
      for (const LoraTarget& t : adapter_->targets)
        if (t.layer == layer_ && t.module == *module) target = &t;
    if (!target)
      return g.add_node("linear", {x, weight(g, source, {out, in})}, std::move(name), F_, {1, T, out}, {}, stage_);
    const int64_t r = adapter_->rank;
    const std::string meta = "layers." + std::to_string(layer_) + "." + meta_module_name(*module);
    int base = g.add_node("linear", {x, weight(g, source, {out, in})}, name + ".base", F_, {1, T, out}, {}, stage_);
    WeightRecipe a{adapter_->name, target->a_tensor, meta + ".lora_a.weight", {CastStep{F_}}, F_, {r, in}};
    WeightRecipe b{adapter_->name, target->b_tensor, meta + ".lora_b.weight", {CastStep{F_}}, F_, {out, r}};
    if (*module == LinearModule::WQ || *module == LinearModule::WK)  // HF-trained: rows in rotate-half order
      b.steps.push_back(RotateHalfToInterleavedStep{d_.params.head_dim});
    int a_w = g.add_weight(program_.add_weight(std::move(a)), F_, {r, in});
    int b_w = g.add_weight(program_.add_weight(std::move(b)), F_, {out, r});
    int u = g.add_node("linear", {x, a_w}, name + ".lora_a", F_, {1, T, r}, {}, stage_);
    int delta = g.add_node("linear", {u, b_w}, name + ".lora_b", F_, {1, T, out}, {}, stage_);
    return g.add_node("add", {base, delta}, std::move(name), F_, {1, T, out}, {{"alpha", adapter_->scale}}, stage_);
  }

  int block(Graph& g, int64_t l, int x, int64_t T, int mask, int cos, int sin, int k_cache,
            int v_cache, int& k_update, int& v_update) {
    const ModelParams& p = d_.params;
    const int64_t D = p.head_dim;
    const std::string pre = stage_ + ".";
    auto w = [&](const char* s) { return layer_tensor(l, s); };
    int xn = g.add_node("rms_norm", {x, weight(g, w("attention_norm.weight"), {p.dim})}, pre + "attention_norm_out",
                        F_, {1, T, p.dim}, {{"eps", p.norm_eps}}, stage_);
    int q = linear(g, xn, w("attention.wq.weight"), d_.q_dim, p.dim, pre + "q", T, LinearModule::WQ);
    int k = linear(g, xn, w("attention.wk.weight"), d_.kv_dim, p.dim, pre + "k", T, LinearModule::WK);
    int v = linear(g, xn, w("attention.wv.weight"), d_.kv_dim, p.dim, pre + "v", T, LinearModule::WV);
    Attrs q_heads = {{"n_heads", p.n_heads}, {"head_dim", D}};
    Attrs kv_heads = {{"n_heads", p.n_kv_heads}, {"head_dim", D}};
    int qr = g.add_node("rope", {q, cos, sin}, pre + "q_rope", F_, {1, T, d_.q_dim}, q_heads, stage_);
    int kr = g.add_node("rope", {k, cos, sin}, pre + "k_rope", F_, {1, T, d_.kv_dim}, kv_heads, stage_);
    Shape update_shape = {1, p.n_kv_heads, T, D};
    k_update = g.add_node("to_heads", {kr}, "k_update_" + std::to_string(l), F_, update_shape, kv_heads, stage_);
    v_update = g.add_node("to_heads", {v}, "v_update_" + std::to_string(l), F_, update_shape, kv_heads, stage_);
    int attn = g.add_node("attention", {qr, k_update, v_update, k_cache, v_cache, mask}, pre + "attention_out",
                          F_, {1, T, d_.q_dim},
                          {{"n_heads", p.n_heads}, {"n_kv_heads", p.n_kv_heads}, {"head_dim", D}}, stage_);
    int o = linear(g, attn, w("attention.wo.weight"), p.dim, d_.q_dim, pre + "wo_out", T, LinearModule::WO);
    int h = g.add_node("add", {x, o}, pre + "attention_residual", F_, {1, T, p.dim}, {}, stage_);
    int hn = g.add_node("rms_norm", {h, weight(g, w("ffn_norm.weight"), {p.dim})}, pre + "ffn_norm_out", F_,
                        {1, T, p.dim}, {{"eps", p.norm_eps}}, stage_);
    int a = linear(g, hn, w("feed_forward.w1.weight"), p.hidden_dim, p.dim, pre + "w1_out", T, LinearModule::W1);
    int sa = g.add_node("silu", {a}, pre + "silu_out", F_, {1, T, p.hidden_dim}, {}, stage_);
    int b = linear(g, hn, w("feed_forward.w3.weight"), p.hidden_dim, p.dim, pre + "w3_out", T, LinearModule::W3);
    int gated = g.add_node("mul", {sa, b}, pre + "gate_out", F_, {1, T, p.hidden_dim}, {}, stage_);
    int f = linear(g, gated, w("feed_forward.w2.weight"), p.dim, p.hidden_dim, pre + "w2_out", T, LinearModule::W2);
    return g.add_node("add", {h, f}, pre + "out", F_, {1, T, p.dim}, {}, stage_);
  }

  const LlamaDims& d_;
  Program& program_;
  DType F_;
  std::string stage_;
  int64_t layer_ = -1;
  const LoraAdapter* adapter_ = nullptr;
};

std::vector<uint8_t> encode_table(const std::vector<float>& values, DType dtype) {
  std::vector<uint8_t> bytes(storage_bytes(dtype, values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::F32) {
      std::memcpy(bytes.data() + 4 * i, &values[i], 4);
    } else {
      uint16_t h = float_to_half(values[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  }
  return bytes;
}

const char* role_name(MethodRole r) {
  switch (r) {
    case MethodRole::Decode: return "decode";
    case MethodRole::Prefill: return "prefill";
    default: return "full";
  }
}

// Keys that describe one method's I/O layout (SPEC §4): unprefixed for a single-method file,
// with a decode_/prefill_ prefix per role in a multifunction file.
void add_layout_metadata(Program& program, const std::string& prefix, int64_t n_layers, int64_t cache_len,
                         int64_t input_len, const std::string& input_len_key) {
  auto& meta = program.metadata;
  meta[prefix + meta::kFreqsCosInputIndex] = int_scalar(2);
  meta[prefix + meta::kFreqsSinInputIndex] = int_scalar(3);
  meta[prefix + meta::kMaskSpecs] = IntTensor{{1, 2}, {1, cache_len}};
  const int64_t L = n_layers;
  IntTensor kv{{L, 5}, {}};
  for (int64_t l = 0; l < L; ++l)  // layer order, not string order (a reference bug)
    for (int64_t v : {4 + l, 1 + l, 4 + L + l, 1 + L + l, cache_len}) kv.values.push_back(v);
  meta[prefix + meta::kKvCacheSpecs] = kv;
  meta[input_len_key] = int_scalar(input_len);
}

std::string methods_json(const Program& program, const std::vector<LoraAdapter>& adapters) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Method& m : program.methods) {
    nlohmann::ordered_json j;
    j["name"] = m.name;
    j["role"] = role_name(m.role);
    j["input_len"] = m.inputs[0].shape[1];
    j["cache_len"] = m.inputs[4].shape[2];
    j["adapter"] = nullptr;
    for (const LoraAdapter& a : adapters)
      if (a.name == m.adapter) {
        nlohmann::ordered_json targets = nlohmann::ordered_json::array();
        for (const LoraTarget& t : a.targets)
          targets.push_back("layers." + std::to_string(t.layer) + "." + meta_module_name(t.module));
        j["adapter"] = {{"name", a.name}, {"rank", a.rank}, {"alpha", a.alpha}, {"scale", a.scale},
                        {"use_rslora", a.use_rslora}, {"target_modules", a.target_modules}, {"targets", targets}};
      }
    list.push_back(j);
  }
  return list.dump();
}

void add_runner_metadata(Program& program, const LlamaDims& d, const ExportOptions& o,
                         const std::vector<LoraAdapter>& adapters) {
  const ModelParams& p = d.params;
  auto& meta = program.metadata;
  meta[meta::kVocabSize] = int_scalar(d.vocab);
  meta[meta::kHeadDim] = int_scalar(p.head_dim);
  meta[meta::kHeadsPerCache] = int_scalar(p.n_kv_heads);
  meta[meta::kLayers] = int_scalar(p.n_layers);
  meta[meta::kMaxContextLen] = int_scalar(o.max_context_len);
  meta[meta::kDtype] = TextValue{dtype_name(o.dtype)};
  RopeTables rope = rope_tables(p, o.max_context_len);
  meta[meta::kFreqsCos] = BytesTensor{o.dtype, {rope.positions, rope.half_dim}, encode_table(rope.cos, o.dtype)};
  meta[meta::kFreqsSin] = BytesTensor{o.dtype, {rope.positions, rope.half_dim}, encode_table(rope.sin, o.dtype)};
  if (o.multifunction) {
    const int64_t cache_len = o.max_context_len - 1;
    add_layout_metadata(program, meta::kDecodePrefix, p.n_layers, cache_len, 1,
                        std::string(meta::kDecodePrefix) + meta::kInputLenSuffix);
    add_layout_metadata(program, meta::kPrefillPrefix, p.n_layers, cache_len, o.input_len,
                        std::string(meta::kPrefillPrefix) + meta::kInputLenSuffix);
  } else {
    add_layout_metadata(program, "", p.n_layers, o.max_context_len - o.input_len, o.input_len, meta::kForwardInputLen);
  }
  meta[meta::kMethods] = TextValue{methods_json(program, adapters)};
}

}  // namespace

Program build_llama_program(const ModelParams& params, const Checkpoint& checkpoint,
                            const ExportOptions& options, const std::vector<LoraAdapter>& adapters) {
  Program program;
  LlamaDims dims = resolve_dims(params, checkpoint, program.log);
  MethodBuilder builder(dims, program, options.dtype);
  std::vector<const LoraAdapter*> variants = {nullptr};
  for (const LoraAdapter& a : adapters) variants.push_back(&a);
  for (const LoraAdapter* a : variants) {
    const std::string base = a ? a->name : "";
    if (options.multifunction) {
      const int64_t cache_len = options.max_context_len - 1;
      program.methods.push_back(builder.build(a ? base + "_forward" : "forward", MethodRole::Decode, 1, cache_len, true, a));
      program.methods.push_back(builder.build(a ? base + "_prefill" : "prefill", MethodRole::Prefill, options.input_len,
                                              cache_len, true, a));
    } else {
      program.methods.push_back(builder.build(a ? base : "forward", MethodRole::Full, options.input_len,
                                              options.max_context_len - options.input_len, false, a));
    }
  }
  add_runner_metadata(program, dims, options, adapters);
  return program;
}

}  // namespace pte
