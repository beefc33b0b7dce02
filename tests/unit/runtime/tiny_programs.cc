#include "tests/unit/runtime/tiny_programs.h"

#include <unistd.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace pte::testing {

PteWriter ring_model(const RingModelOptions& o) {
  const DType F = o.dtype;
  const int64_t T = o.input_len, M = o.max_context_len, C = M - T, V = 16;
  PteWriter w;
  std::vector<float> table, out(V * 2, 0.0f), cos, sin;
  for (int64_t t = 0; t < V; ++t) table.insert(table.end(), {static_cast<float>(t), 1.0f});
  out[0] = 1;  // logits[0] = attention[0]
  out[3] = 1;  // logits[1] = attention[1]
  for (int64_t p = 0; p < M; ++p) {
    cos.push_back(10.0f + static_cast<float>(p));
    sin.push_back(0.0f);
  }
  w.add_floats("table", table, F);
  w.add_floats("wq", std::vector<float>(4, 0.0f), F);
  w.add_floats("wout", out, F);
  w.add_floats("freqs_cos", cos, F);
  w.add_floats("freqs_sin", sin, F);

  GraphBuilder g;
  int tokens = g.input("tokens", DType::I32, {1, T});
  int mask = g.input("mask", F, {1, T, C + T});
  int fc = g.input("freqs_cos", F, {T, 1});
  int fs = g.input("freqs_sin", F, {T, 1});
  int kc = g.input("k_cache_0", F, {1, 1, C, 2});
  int vc = g.input("v_cache_0", F, {1, 1, C, 2});
  int table_v = g.constant("table", F, {V, 2}, "table");
  int wq = g.constant("wq", F, {2, 2}, "wq");
  int wout = g.constant("wout", F, {V, 2}, "wout");
  int emb = g.op("embedding", {table_v, tokens}, "emb", F, {1, T, 2});
  int q = g.op("linear", {emb, wq}, "q", F, {1, T, 2});
  int kr = g.op("rope", {emb, fc, fs}, "k_rope", F, {1, T, 2}, {{"n_heads", int64_t{1}}, {"head_dim", int64_t{2}}});
  int ku = g.op("to_heads", {kr}, "k_update_0", F, {1, 1, T, 2}, {{"n_heads", int64_t{1}}, {"head_dim", int64_t{2}}});
  int vu = g.op("to_heads", {emb}, "v_update_0", F, {1, 1, T, 2}, {{"n_heads", int64_t{1}}, {"head_dim", int64_t{2}}});
  int att = g.op("attention", {q, ku, vu, kc, vc, mask}, "att", F, {1, T, 2},
                 {{"n_heads", int64_t{1}}, {"n_kv_heads", int64_t{1}}, {"head_dim", int64_t{2}}});
  int logits = g.op("linear", {att, wout}, "logits", F, {1, T, V});
  g.output(logits);
  g.output(ku);
  g.output(vu);
  w.add_graph("forward.piece0", g.proto());

  MethodDesc m;
  m.name = "forward";
  m.inputs = {{"tokens", DType::I32, {1, T}, fb::IORole::Tokens},
              {"mask", F, {1, T, C + T}, fb::IORole::Mask},
              {"freqs_cos", F, {T, 1}, fb::IORole::FreqsCos},
              {"freqs_sin", F, {T, 1}, fb::IORole::FreqsSin},
              {"k_cache_0", F, {1, 1, C, 2}, fb::IORole::KCache, 0},
              {"v_cache_0", F, {1, 1, C, 2}, fb::IORole::VCache, 0}};
  m.outputs = {{"logits", F, {1, T, V}, fb::IORole::Logits},
               {"k_update_0", F, {1, 1, T, 2}, fb::IORole::KUpdate, 0},
               {"v_update_0", F, {1, 1, T, 2}, fb::IORole::VUpdate, 0}};
  m.pieces = {{"forward.piece0",
               {"tokens", "mask", "freqs_cos", "freqs_sin", "k_cache_0", "v_cache_0"},
               {"logits", "k_update_0", "v_update_0"}}};
  w.add_method(m);

  w.meta_int("vocab_size", V);
  w.meta_int("head_dim", 2);
  w.meta_int("n_heads_per_cache", 1);
  w.meta_int("n_layers", 1);
  w.meta_int("max_context_len", M);
  w.meta_int("forward_input_len", T);
  w.meta_int("freqs_cos_input_index", 2);
  w.meta_int("freqs_sin_input_index", 3);
  w.meta_ints("mask_specs", {1, 2}, {1, C});
  w.meta_ints("kv_cache_specs", {1, 5}, {4, 1, 5, 2, C});
  w.meta_blob_tensor("freqs_cos", "freqs_cos", F, {M, 1});
  w.meta_blob_tensor("freqs_sin", "freqs_sin", F, {M, 1});
  w.meta_text("dtype", dtype_name(F));
  return w;
}

namespace {

// Deterministic values in [-1, 1), different for every (seed, index).
std::vector<float> pseudo_random(uint32_t seed, size_t count) {
  std::vector<float> out(count);
  uint32_t state = seed * 2654435761u + 12345u;
  for (float& v : out) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) / static_cast<float>(1u << 23) - 1.0f;
  }
  return out;
}

uint32_t seed_of(const std::string& name) {
  uint32_t h = 2166136261u;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h;
}

}  // namespace

PteWriter tiny_lm(const TinyLmOptions& o) {
  const DType F = DType::F32, I64 = DType::I64;
  const int64_t V = 12, dim = 4, Hq = 2, Hkv = 1, D = 2, L = o.layers, M = o.max_context_len;
  const int64_t kv_dim = Hkv * D;
  PteWriter w;
  auto weight = [&](const std::string& key, size_t count, float scale) {
    std::vector<float> v = pseudo_random(seed_of(key), count);
    for (float& x : v) x *= scale;
    w.add_floats(key, v, F);
  };
  weight("tok_embeddings", V * dim, 1.0f);
  weight("output", V * dim, 1.0f);
  for (int64_t l = 0; l < L; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    weight(p + "wq", dim * dim, 0.9f);
    weight(p + "wk", kv_dim * dim, 0.9f);
    weight(p + "wv", kv_dim * dim, 1.0f);
    weight(p + "wo", dim * dim, 0.7f);
    for (const std::string& a : o.adapters) {
      weight(a + "." + p + "lora_a", 2 * dim, 0.5f);
      weight(a + "." + p + "lora_b", dim * 2, 0.5f);
    }
  }
  std::vector<float> cos, sin;
  for (int64_t p = 0; p < M; ++p) {
    cos.push_back(std::cos(0.3f * static_cast<float>(p)));
    sin.push_back(std::sin(0.3f * static_cast<float>(p)));
  }
  w.add_floats("freqs_cos", cos, F);
  w.add_floats("freqs_sin", sin, F);

  nlohmann::json methods_meta = nlohmann::json::array();
  auto add_method = [&](const std::string& name, fb::MethodRole role, int64_t T, int64_t C, bool select,
                        const std::string* adapter) {
    GraphBuilder g;
    std::vector<std::string> names = {"tokens", "mask", "freqs_cos", "freqs_sin"};
    MethodDesc m;
    m.name = name;
    m.role = role;
    if (adapter) m.adapter = *adapter;
    m.inputs = {{"tokens", DType::I32, {1, T}, fb::IORole::Tokens},
                {"mask", F, {1, T, C + T}, fb::IORole::Mask},
                {"freqs_cos", F, {T, D / 2}, fb::IORole::FreqsCos},
                {"freqs_sin", F, {T, D / 2}, fb::IORole::FreqsSin}};
    int tokens = g.input("tokens", DType::I32, {1, T});
    int mask = g.input("mask", F, {1, T, C + T});
    int fc = g.input("freqs_cos", F, {T, D / 2});
    int fs = g.input("freqs_sin", F, {T, D / 2});
    std::vector<int> kc(L), vc(L);
    for (int64_t l = 0; l < L; ++l) {
      std::string n = "k_cache_" + std::to_string(l);
      kc[l] = g.input(n, F, {1, Hkv, C, D});
      m.inputs.push_back({n, F, {1, Hkv, C, D}, fb::IORole::KCache, static_cast<int>(l)});
      names.push_back(n);
    }
    for (int64_t l = 0; l < L; ++l) {
      std::string n = "v_cache_" + std::to_string(l);
      vc[l] = g.input(n, F, {1, Hkv, C, D});
      m.inputs.push_back({n, F, {1, Hkv, C, D}, fb::IORole::VCache, static_cast<int>(l)});
      names.push_back(n);
    }
    int pos = -1;
    if (select) {
      pos = g.input("last_valid_token_pos", I64, {1});
      m.inputs.push_back({"last_valid_token_pos", I64, {1}, fb::IORole::LastValidTokenPos});
      names.push_back("last_valid_token_pos");
    }
    const GraphBuilder::Attr q_heads[] = {{"n_heads", Hq}, {"head_dim", D}};
    const GraphBuilder::Attr kv_heads[] = {{"n_heads", Hkv}, {"head_dim", D}};
    int x = g.op("embedding", {g.constant("tok_embeddings", F, {V, dim}, "tok_embeddings"), tokens}, "emb", F,
                 {1, T, dim});
    std::vector<int> ku(L), vu(L);
    for (int64_t l = 0; l < L; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      auto lin = [&](const std::string& wname, int in, int64_t out_dim, int64_t in_dim, const std::string& out) {
        return g.op("linear", {in, g.constant(wname, F, {out_dim, in_dim}, wname)}, out, F, {1, T, out_dim});
      };
      int q = lin(p + "wq", x, dim, dim, p + "q");
      if (adapter) {
        int u = lin(*adapter + "." + p + "lora_a", x, 2, dim, p + "lora_a_out");
        int delta = lin(*adapter + "." + p + "lora_b", u, dim, 2, p + "lora_b_out");
        q = g.op("add", {q, delta}, p + "q_lora", F, {1, T, dim}, {{"alpha", o.adapter_scale}});
      }
      int k = lin(p + "wk", x, kv_dim, dim, p + "k");
      int v = lin(p + "wv", x, kv_dim, dim, p + "v");
      int qr = g.op("rope", {q, fc, fs}, p + "q_rope", F, {1, T, dim}, {q_heads[0], q_heads[1]});
      int kr = g.op("rope", {k, fc, fs}, p + "k_rope", F, {1, T, kv_dim}, {kv_heads[0], kv_heads[1]});
      ku[l] = g.op("to_heads", {kr}, "k_update_" + std::to_string(l), F, {1, Hkv, T, D}, {kv_heads[0], kv_heads[1]});
      vu[l] = g.op("to_heads", {v}, "v_update_" + std::to_string(l), F, {1, Hkv, T, D}, {kv_heads[0], kv_heads[1]});
      int att = g.op("attention", {qr, ku[l], vu[l], kc[l], vc[l], mask}, p + "att", F, {1, T, dim},
                     {{"n_heads", Hq}, {"n_kv_heads", Hkv}, {"head_dim", D}});
      x = g.op("add", {x, lin(p + "wo", att, dim, dim, p + "o")}, p + "out", F, {1, T, dim});
    }
    const int64_t rows = select ? 1 : T;
    if (select) x = g.op("select_row", {x, pos}, "last_hidden", F, {1, 1, dim});
    int logits = g.op("linear", {x, g.constant("output", F, {V, dim}, "output")}, "logits", F, {1, rows, V});
    g.output(logits);
    m.outputs.push_back({"logits", F, {1, rows, V}, fb::IORole::Logits});
    std::vector<std::string> outs = {"logits"};
    for (int64_t l = 0; l < L; ++l) {
      g.output(ku[l]);
      m.outputs.push_back({"k_update_" + std::to_string(l), F, {1, Hkv, T, D}, fb::IORole::KUpdate, static_cast<int>(l)});
      outs.push_back("k_update_" + std::to_string(l));
    }
    for (int64_t l = 0; l < L; ++l) {
      g.output(vu[l]);
      m.outputs.push_back({"v_update_" + std::to_string(l), F, {1, Hkv, T, D}, fb::IORole::VUpdate, static_cast<int>(l)});
      outs.push_back("v_update_" + std::to_string(l));
    }
    w.add_graph(name + ".all", g.proto());
    m.pieces = {{name + ".all", names, outs}};
    w.add_method(m);

    nlohmann::json adapter_meta = nullptr;
    if (adapter) {
      nlohmann::json targets = nlohmann::json::array();
      for (int64_t l = 0; l < L; ++l) targets.push_back("layers." + std::to_string(l) + ".attention.wq");
      adapter_meta = {{"name", *adapter}, {"rank", 2}, {"alpha", 2 * o.adapter_scale}, {"scale", o.adapter_scale},
                      {"use_rslora", false}, {"target_modules", {"q_proj"}}, {"targets", targets}};
    }
    const char* role_name = role == fb::MethodRole::Decode ? "decode" : role == fb::MethodRole::Prefill ? "prefill" : "full";
    methods_meta.push_back({{"name", name}, {"role", role_name}, {"input_len", T}, {"cache_len", C},
                            {"adapter", adapter_meta}});
  };

  const int64_t T = o.input_len, decode_c = o.decode_cache_len > 0 ? o.decode_cache_len : M - 1;
  std::vector<const std::string*> variants = {nullptr};
  for (const std::string& a : o.adapters) variants.push_back(&a);
  for (const std::string* a : variants) {
    if (o.multifunction) {
      add_method(a ? *a + "_forward" : "forward", fb::MethodRole::Decode, 1, decode_c, true, a);
      add_method(a ? *a + "_prefill" : "prefill", fb::MethodRole::Prefill, T, M - 1, true, a);
    } else {
      add_method(a ? *a : "forward", fb::MethodRole::Full, T, M - T, false, a);
    }
  }

  w.meta_int("vocab_size", V);
  w.meta_int("head_dim", D);
  w.meta_int("n_heads_per_cache", Hkv);
  w.meta_int("n_layers", L);
  w.meta_int("max_context_len", M);
  w.meta_blob_tensor("freqs_cos", "freqs_cos", F, {M, D / 2});
  w.meta_blob_tensor("freqs_sin", "freqs_sin", F, {M, D / 2});
  w.meta_text("dtype", "fp32");
  w.meta_text("methods", methods_meta.dump());
  auto layout = [&](const std::string& prefix, int64_t C, int64_t input_len, const std::string& len_key) {
    w.meta_int(prefix + "freqs_cos_input_index", 2);
    w.meta_int(prefix + "freqs_sin_input_index", 3);
    w.meta_ints(prefix + "mask_specs", {1, 2}, {1, C});
    std::vector<int64_t> kv;
    for (int64_t l = 0; l < L; ++l)
      for (int64_t v : {4 + l, 1 + l, 4 + L + l, 1 + L + l, C}) kv.push_back(v);
    w.meta_ints(prefix + "kv_cache_specs", {L, 5}, kv);
    w.meta_int(len_key, input_len);
  };
  if (o.multifunction) {
    layout("decode_", decode_c, 1, "decode_input_len");
    layout("prefill_", M - 1, T, "prefill_input_len");
  } else {
    layout("", M - T, T, "forward_input_len");
  }
  return w;
}

std::string temp_file(const std::string& name) {
  static int counter = 0;
  return ::testing::TempDir() + "pte_runtime_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + name;
}

}  // namespace pte::testing
