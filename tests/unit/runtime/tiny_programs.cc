#include "tests/unit/runtime/tiny_programs.h"

#include <unistd.h>

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

std::string temp_file(const std::string& name) {
  static int counter = 0;
  return ::testing::TempDir() + "pte_runtime_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + name;
}

}  // namespace pte::testing
