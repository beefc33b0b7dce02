#include "exporter/program/llama_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/float16.h"
#include "exporter/model/linear_module.h"
#include "exporter/program/rope_tables.h"
#include "schema/metadata_keys.h"

namespace pte {
namespace {

using Attrs = std::vector<std::pair<std::string, AttrValue>>;

// Model dimensions once the description and the checkpoint agree.
struct LlamaDims {
  ModelDescription params;
  TensorNames names{TensorLayout::Meta};
  int64_t vocab = 0;
  int64_t q_dim = 0, kv_dim = 0;  // n_heads * head_dim, n_kv_heads * head_dim
  std::string embedding_source;   // the embedding, or lm_head.weight when only it is stored (tied)
  std::string output_source;      // "output.weight", or the embedding when tied
};

// (out, in) of a block's linear.
std::pair<int64_t, int64_t> linear_shape(const LlamaDims& d, LinearModule m) {
  const int64_t dim = d.params.dim, hidden = d.params.hidden_dim;
  switch (m) {
    case LinearModule::WQ: return {d.q_dim, dim};
    case LinearModule::WK: case LinearModule::WV: return {d.kv_dim, dim};
    case LinearModule::WO: return {dim, d.q_dim};
    case LinearModule::W1: case LinearModule::W3: return {hidden, dim};
    case LinearModule::W2: return {dim, hidden};
  }
  return {0, 0};
}

std::string layout_hint(const ModelDescription& p, const Checkpoint& ckpt) {
  if (p.layout == TensorLayout::Meta && ckpt.find("model.norm.weight"))
    return " (this looks like a Hugging Face checkpoint: give its config.json with -p, or its folder with -c)";
  if (p.layout == TensorLayout::HuggingFace && ckpt.find("norm.weight"))
    return " (this looks like a Meta checkpoint: give its params.json with -p)";
  return "";
}

const TensorView& require_tensor(const Checkpoint& ckpt, const std::string& name, const Shape& expected,
                                 const std::string& why, const std::string& hint = "") {
  const TensorView* v = ckpt.find(name);
  if (!v) {
    if (const std::string* dtype = ckpt.unread_dtype(name))
      throw Error(ckpt.path() + ": tensor '" + name + "' has dtype " + *dtype +
                  ", which pte does not read (expected fp32, fp16 or bf16)");
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

// Whether two tensors hold the same values (same dtype, shape and bytes), read in row blocks
// whose pages are released as they go.
bool same_tensor(const Checkpoint& ckpt, const TensorView& a, const TensorView& b) {
  if (a.dtype != b.dtype || a.shape != b.shape) return false;
  if (a.shape.empty()) return true;
  const int64_t rows = a.shape[0], cols = rows ? a.numel() / rows : 0;
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(cols, 1));
  std::vector<uint8_t> x, y;
  for (int64_t r = 0; r < rows; r += block) {
    TensorView va = a, vb = b;
    const int64_t n = std::min(block, rows - r);
    va.offset += r * a.strides[0];
    vb.offset += r * b.strides[0];
    va.shape[0] = vb.shape[0] = n;
    x.resize(storage_bytes(a.dtype, static_cast<uint64_t>(va.numel())));
    y.resize(x.size());
    va.read_raw(x.data());
    vb.read_raw(y.data());
    ckpt.release(va);
    ckpt.release(vb);
    if (x != y) return false;
  }
  return true;
}

// Picks the embedding and output-head tensors, tied or not (config.json's tie_word_embeddings,
// or for Meta checkpoints the absence of output.weight).
void resolve_embeddings(LlamaDims& d, const Checkpoint& ckpt, const std::string& vocab_why,
                        std::vector<std::string>& log) {
  const ModelDescription& p = d.params;
  const std::string emb = d.names.embedding(), out = d.names.output();
  const std::string hint = layout_hint(p, ckpt);
  const bool has_emb = ckpt.find(emb) != nullptr, has_out = ckpt.find(out) != nullptr;
  d.embedding_source = emb;
  if (!p.tie_word_embeddings) {  // Meta rule
    require_tensor(ckpt, emb, {d.vocab, p.dim}, vocab_why, hint);
    if (has_out) {
      require_tensor(ckpt, out, {d.vocab, p.dim}, vocab_why);
      d.output_source = out;
    } else {
      d.output_source = emb;
      log.push_back(out + " is not in the checkpoint: the output head uses " + emb + " (tied embeddings)");
    }
    return;
  }
  if (!*p.tie_word_embeddings) {
    require_tensor(ckpt, emb, {d.vocab, p.dim}, vocab_why, hint);
    require_tensor(ckpt, out, {d.vocab, p.dim}, vocab_why + " (tie_word_embeddings is false in " + p.source + ")");
    d.output_source = out;
    return;
  }
  if (!has_emb && !has_out) require_tensor(ckpt, emb, {d.vocab, p.dim}, vocab_why, hint);
  if (has_emb) require_tensor(ckpt, emb, {d.vocab, p.dim}, vocab_why);
  if (has_out) require_tensor(ckpt, out, {d.vocab, p.dim}, vocab_why);
  if (has_emb && has_out) {
    if (!same_tensor(ckpt, *ckpt.find(emb), *ckpt.find(out)))
      throw Error(ckpt.path() + ": tensors '" + emb + "' and '" + out + "' differ, but tie_word_embeddings is true in " +
                  p.source);
    log.push_back(out + " equals " + emb + " (tie_word_embeddings): the output head uses " + emb);
    d.output_source = emb;
  } else if (has_emb) {
    d.output_source = emb;
    log.push_back("tie_word_embeddings: the output head uses " + emb);
  } else {
    d.embedding_source = d.output_source = out;
    log.push_back("tie_word_embeddings and only " + out + " is stored: the embedding uses " + out);
  }
}

LlamaDims resolve_dims(const ModelDescription& p, const Checkpoint& ckpt, std::vector<std::string>& log) {
  LlamaDims d;
  d.params = p;
  d.names = TensorNames{p.layout};
  if (p.head_dim % 2 != 0)
    throw Error("params: head_dim " + std::to_string(p.head_dim) + " is odd; RoPE rotates pairs and needs an even head_dim");
  d.q_dim = p.q_dim();
  d.kv_dim = p.kv_dim();
  const bool meta = p.layout == TensorLayout::Meta;
  const std::string from_params =
      meta ? "(from params.json: dim " + std::to_string(p.dim) + ", n_heads " + std::to_string(p.n_heads) +
                 ", n_kv_heads " + std::to_string(p.n_kv_heads) + ", head_dim " + std::to_string(p.head_dim) +
                 ", hidden_dim " + std::to_string(p.hidden_dim) + ")"
           : "(from " + p.source + ": hidden_size " + std::to_string(p.dim) + ", num_attention_heads " +
                 std::to_string(p.n_heads) + ", num_key_value_heads " + std::to_string(p.n_kv_heads) +
                 ", head_dim " + std::to_string(p.head_dim) + ", intermediate_size " + std::to_string(p.hidden_dim) + ")";
  const TensorNames& n = d.names;
  const TensorView* emb = ckpt.find(n.embedding());
  if (!emb && p.tie_word_embeddings.value_or(false)) emb = ckpt.find(n.output());
  if (emb && emb->shape.size() == 2 && p.vocab_size <= 0) d.vocab = emb->shape[0];
  else d.vocab = p.vocab_size;
  if (d.vocab <= 0) d.vocab = 1;  // make the shape check below report the real problem
  std::string vocab_why = p.vocab_size > 0 ? "(vocab_size " + std::to_string(p.vocab_size) + ", dim " + std::to_string(p.dim) + ")"
                                           : "(dim " + std::to_string(p.dim) + ")";
  resolve_embeddings(d, ckpt, vocab_why, log);
  std::set<std::string> used = {n.embedding(), n.final_norm(), n.output()};
  auto need = [&](const std::string& name, const Shape& shape) {
    require_tensor(ckpt, name, shape, from_params);
    used.insert(name);
  };
  for (int64_t l = 0; l < p.n_layers; ++l) {
    need(n.attention_norm(l), {p.dim});
    need(n.linear(l, LinearModule::WQ), {d.q_dim, p.dim});
    need(n.linear(l, LinearModule::WK), {d.kv_dim, p.dim});
    need(n.linear(l, LinearModule::WV), {d.kv_dim, p.dim});
    need(n.linear(l, LinearModule::WO), {p.dim, d.q_dim});
    need(n.ffn_norm(l), {p.dim});
    need(n.linear(l, LinearModule::W1), {p.hidden_dim, p.dim});
    need(n.linear(l, LinearModule::W2), {p.dim, p.hidden_dim});
    need(n.linear(l, LinearModule::W3), {p.hidden_dim, p.dim});
    for (LinearModule m : kLinearModules)
      if (p.has_bias(m)) need(n.linear(l, m, "bias"), {linear_shape(d, m).first});
    if (p.qk_norm) {
      need(n.q_norm(l), {p.head_dim});
      need(n.k_norm(l), {p.head_dim});
    }
  }
  need(n.final_norm(), {p.dim});
  std::vector<std::string> unused, ignored;
  for (const TensorView& t : ckpt.tensors())
    if (!used.count(t.name)) (t.name.ends_with(".rotary_emb.inv_freq") ? ignored : unused).push_back(t.name);
  auto list = [](const std::vector<std::string>& names) {
    std::string text;
    for (size_t i = 0; i < names.size() && i < 5; ++i) text += (i ? ", " : "") + names[i];
    if (names.size() > 5) text += ", ...";
    return text;
  };
  if (!ignored.empty())
    log.push_back(std::to_string(ignored.size()) + " RoPE frequency buffer(s) ignored (recomputed): " + list(ignored));
  if (!unused.empty() && !meta)
    throw Error(ckpt.path() + ": " + std::to_string(unused.size()) + " tensor(s) are not used by " + p.architecture +
                " as " + p.source + " describes it: " + list(unused));
  if (!unused.empty())
    log.push_back(std::to_string(unused.size()) + " checkpoint tensor(s) not used by the model: " + list(unused));
  return d;
}

// Builds one method's whole graph. Pieces are cut later by the graph-breaks pass.
class MethodBuilder {
 public:
  MethodBuilder(const LlamaDims& d, Program& program, DType dtype) : d_(d), program_(program), F_(dtype) {}

  // `select_last`: logits only for the row at input last_valid_token_pos (multifunction).
  Method build(const std::string& name, MethodRole role, int64_t T, int64_t C, bool select_last,
               const LoraAdapter* adapter) {
    const ModelDescription& p = d_.params;
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

    int h = g.add_node("embedding", {weight(g, d_.embedding_source, {d_.vocab, p.dim}), tokens},
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
    int normed = g.add_node("rms_norm", {h, weight(g, d_.names.final_norm(), {p.dim})}, "norm_out", F_,
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
  // `interleave`: an HF-layout q/k row vector (weight rows, bias, q/k norm weight) whose
  // rotate-half order becomes the interleaved order of our RoPE.
  int weight(Graph& g, const std::string& source, Shape shape, bool interleave = false) {
    WeightRecipe r{"", source, "", {CastStep{F_}}, F_, shape};
    if (interleave) r.steps.insert(r.steps.begin(), RotateHalfToInterleavedStep{d_.params.head_dim});
    return g.add_weight(program_.add_weight(std::move(r)), F_, std::move(shape));
  }

  bool permuted(LinearModule m) const {
    return d_.params.layout == TensorLayout::HuggingFace && (m == LinearModule::WQ || m == LinearModule::WK);
  }

  // x·Wᵀ (+ bias when the model has one for this linear).
  int base_linear(Graph& g, int x, const std::string& source, int64_t out, int64_t in, std::string name, int64_t T,
                  std::optional<LinearModule> module) {
    std::vector<int> inputs = {x, weight(g, source, {out, in}, module && permuted(*module))};
    if (module && d_.params.has_bias(*module))
      inputs.push_back(weight(g, d_.names.linear(layer_, *module, "bias"), {out}, permuted(*module)));
    return g.add_node("linear", std::move(inputs), std::move(name), F_, {1, T, out}, {}, stage_);
  }

  // y = x·Wᵀ, plus scale · (x·Aᵀ)·Bᵀ when the adapter targets this linear.
  int linear(Graph& g, int x, const std::string& source, int64_t out, int64_t in, std::string name, int64_t T,
             std::optional<LinearModule> module) {
    const LoraTarget* target = nullptr;
    if (adapter_ && module)
      for (const LoraTarget& t : adapter_->targets)
        if (t.layer == layer_ && t.module == *module) target = &t;
    if (!target) return base_linear(g, x, source, out, in, std::move(name), T, module);
    const int64_t r = adapter_->rank;
    const std::string meta = "layers." + std::to_string(layer_) + "." + meta_module_name(*module);
    int base = base_linear(g, x, source, out, in, name + ".base", T, module);
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
    const ModelDescription& p = d_.params;
    const int64_t D = p.head_dim;
    const std::string pre = stage_ + ".";
    const TensorNames& n = d_.names;
    auto w = [&](LinearModule m) { return n.linear(l, m); };
    int xn = g.add_node("rms_norm", {x, weight(g, n.attention_norm(l), {p.dim})}, pre + "attention_norm_out",
                        F_, {1, T, p.dim}, {{"eps", p.norm_eps}}, stage_);
    int q = linear(g, xn, w(LinearModule::WQ), d_.q_dim, p.dim, pre + "q", T, LinearModule::WQ);
    int k = linear(g, xn, w(LinearModule::WK), d_.kv_dim, p.dim, pre + "k", T, LinearModule::WK);
    int v = linear(g, xn, w(LinearModule::WV), d_.kv_dim, p.dim, pre + "v", T, LinearModule::WV);
    Attrs q_heads = {{"n_heads", p.n_heads}, {"head_dim", D}};
    Attrs kv_heads = {{"n_heads", p.n_kv_heads}, {"head_dim", D}};
    if (p.qk_norm) {  // Qwen3: RMSNorm of each head of q and k, before RoPE
      const bool hf = p.layout == TensorLayout::HuggingFace;
      Attrs q_norm = q_heads, k_norm = kv_heads;
      q_norm.emplace_back("eps", p.norm_eps);
      k_norm.emplace_back("eps", p.norm_eps);
      q = g.add_node("head_rms_norm", {q, weight(g, n.q_norm(l), {D}, hf)}, pre + "q_norm_out", F_, {1, T, d_.q_dim},
                     q_norm, stage_);
      k = g.add_node("head_rms_norm", {k, weight(g, n.k_norm(l), {D}, hf)}, pre + "k_norm_out", F_, {1, T, d_.kv_dim},
                     k_norm, stage_);
    }
    int qr = g.add_node("rope", {q, cos, sin}, pre + "q_rope", F_, {1, T, d_.q_dim}, q_heads, stage_);
    int kr = g.add_node("rope", {k, cos, sin}, pre + "k_rope", F_, {1, T, d_.kv_dim}, kv_heads, stage_);
    Shape update_shape = {1, p.n_kv_heads, T, D};
    k_update = g.add_node("to_heads", {kr}, "k_update_" + std::to_string(l), F_, update_shape, kv_heads, stage_);
    v_update = g.add_node("to_heads", {v}, "v_update_" + std::to_string(l), F_, update_shape, kv_heads, stage_);
    int attn = g.add_node("attention", {qr, k_update, v_update, k_cache, v_cache, mask}, pre + "attention_out",
                          F_, {1, T, d_.q_dim},
                          {{"n_heads", p.n_heads}, {"n_kv_heads", p.n_kv_heads}, {"head_dim", D}}, stage_);
    int o = linear(g, attn, w(LinearModule::WO), p.dim, d_.q_dim, pre + "wo_out", T, LinearModule::WO);
    int h = g.add_node("add", {x, o}, pre + "attention_residual", F_, {1, T, p.dim}, {}, stage_);
    int hn = g.add_node("rms_norm", {h, weight(g, n.ffn_norm(l), {p.dim})}, pre + "ffn_norm_out", F_,
                        {1, T, p.dim}, {{"eps", p.norm_eps}}, stage_);
    int a = linear(g, hn, w(LinearModule::W1), p.hidden_dim, p.dim, pre + "w1_out", T, LinearModule::W1);
    int sa = g.add_node("silu", {a}, pre + "silu_out", F_, {1, T, p.hidden_dim}, {}, stage_);
    int b = linear(g, hn, w(LinearModule::W3), p.hidden_dim, p.dim, pre + "w3_out", T, LinearModule::W3);
    int gated = g.add_node("mul", {sa, b}, pre + "gate_out", F_, {1, T, p.hidden_dim}, {}, stage_);
    int f = linear(g, gated, w(LinearModule::W2), p.dim, p.hidden_dim, pre + "w2_out", T, LinearModule::W2);
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
  const ModelDescription& p = d.params;
  auto& meta = program.metadata;
  meta[meta::kVocabSize] = int_scalar(d.vocab);
  meta[meta::kHeadDim] = int_scalar(p.head_dim);
  meta[meta::kHeadsPerCache] = int_scalar(p.n_kv_heads);
  meta[meta::kLayers] = int_scalar(p.n_layers);
  meta[meta::kMaxContextLen] = int_scalar(o.max_context_len);
  meta[meta::kDtype] = TextValue{dtype_name(o.dtype)};
  if (p.rope_scaling) {  // the constants used, so that a wrong default is visible in the file
    nlohmann::ordered_json s = {{"rope_type", "llama3"}, {"factor", p.rope_scaling->factor},
                                {"low_freq_factor", p.rope_scaling->low_freq_factor},
                                {"high_freq_factor", p.rope_scaling->high_freq_factor},
                                {"original_max_position_embeddings", p.rope_scaling->original_context}};
    meta[meta::kRopeScaling] = TextValue{s.dump()};
  }
  if (p.bos_id) meta[meta::kBosId] = int_scalar(*p.bos_id);
  if (!p.eos_ids.empty()) meta[meta::kEosIds] = IntTensor{{static_cast<int64_t>(p.eos_ids.size())}, p.eos_ids};
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

Program build_llama_program(const ModelDescription& params, const Checkpoint& checkpoint,
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
