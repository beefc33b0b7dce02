#pragma once
// params.json (Meta format). Required: dim, n_layers, n_heads. Everything else has the
// reference's default. A missing required field or a field of the wrong type is an error
// naming the file and field; unknown fields are kept as warnings.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pte {

struct ModelParams {
  int64_t dim = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;           // = n_heads when absent
  int64_t vocab_size = -1;          // <= 0 when absent or -1: taken from the embedding
  int64_t head_dim = 0;             // = dim / n_heads when absent
  int64_t hidden_dim = 0;           // from the rule of SPEC §2 when absent
  int64_t multiple_of = 256;
  std::optional<double> ffn_dim_multiplier;
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  bool use_scaled_rope = false;
  double rope_scale_factor = 8.0;  // the reference's default when use_scaled_rope is true (warned)
  std::optional<int64_t> bos_idx, eos_idx;
  std::vector<std::string> warnings;  // e.g. "params.json: unknown field 'foo' ignored"
};

ModelParams read_model_params(const std::string& path);

}  // namespace pte
