#include "exporter/checkpoint/model_params.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_fields.h"
#include "common/json_input.h"

namespace pte {

namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxParamsBytes = 1u << 20;
// Far above any real model; keeps every product below in int64 range.
constexpr int64_t kMaxDimension = int64_t{1} << 31;

// Fields of Meta's and ExecuTorch's params.json that only configure their own runtime and do
// not change the weights or the math: accepted without a warning.
const char* const kIgnoredFields[] = {
    "max_seq_len",
    "max_batch_size",
    "max_context_len",
    "use_kv_cache",
    "use_sdpa_with_kv_cache",
    "generate_full_logits",
    "enable_dynamic_shape",
    "bos_count",
    "eos_count",
};

const char* const kKnownFields[] = {
    "dim",        "n_layers",        "n_heads",           "n_kv_heads",         "vocab_size",
    "head_dim",   "hidden_dim",      "multiple_of",       "ffn_dim_multiplier", "norm_eps",
    "rope_theta", "use_scaled_rope", "rope_scale_factor", "rope_freq_base", "bos_idx", "eos_idx",
};

class ParamsReader : public JsonFields {
 public:
  ParamsReader(const std::string& path, const Json& json) : JsonFields(path, json, "field", kMaxDimension) {}

  int64_t required_positive(const char* name) const {
    const std::optional<int64_t> n = integer(name);
    if (!n) fail(name, "is required (a positive integer) but missing");
    return positive(name, *n);
  }

  int64_t positive(const char* name, int64_t n) const {
    if (n <= 0) fail(name, "must be positive, found " + std::to_string(n));
    return n;
  }

  ModelParams read() const {
    ModelParams p;
    p.dim = required_positive("dim");
    p.n_layers = required_positive("n_layers");
    p.n_heads = required_positive("n_heads");
    p.n_kv_heads = positive("n_kv_heads", integer("n_kv_heads").value_or(p.n_heads));
    if (p.n_heads % p.n_kv_heads != 0)
      fail("n_kv_heads", "is " + std::to_string(p.n_kv_heads) + ", which does not divide n_heads " +
                             std::to_string(p.n_heads));
    p.vocab_size = integer("vocab_size").value_or(-1);
    if (p.vocab_size <= 0 && p.vocab_size != -1)
      fail("vocab_size", "must be positive or -1, found " + std::to_string(p.vocab_size));
    if (std::optional<int64_t> head_dim = integer("head_dim")) {
      p.head_dim = positive("head_dim", *head_dim);
    } else {
      if (p.dim % p.n_heads != 0)
        fail("dim", "is " + std::to_string(p.dim) + ", not divisible by n_heads " +
                        std::to_string(p.n_heads) + " (give head_dim)");
      p.head_dim = p.dim / p.n_heads;
    }
    p.multiple_of = positive("multiple_of", integer("multiple_of").value_or(256));
    p.ffn_dim_multiplier = number("ffn_dim_multiplier");
    if (std::optional<int64_t> hidden_dim = integer("hidden_dim"))
      p.hidden_dim = positive("hidden_dim", *hidden_dim);
    else
      p.hidden_dim = default_hidden_dim(p);
    p.norm_eps = number("norm_eps").value_or(p.norm_eps);
    // rope_freq_base is the name some of the reference's own configs use for rope_theta.
    const std::optional<double> theta = number("rope_theta"), freq_base = number("rope_freq_base");
    if (theta && freq_base && *theta != *freq_base)
      fail("rope_freq_base", "is " + field("rope_freq_base")->dump() + " but rope_theta is " +
                                 field("rope_theta")->dump() + " (they are the same setting)");
    p.rope_theta = theta.value_or(freq_base.value_or(p.rope_theta));
    p.use_scaled_rope = boolean("use_scaled_rope").value_or(p.use_scaled_rope);
    const std::optional<double> scale = number("rope_scale_factor");
    p.rope_scale_factor = scale.value_or(p.rope_scale_factor);
    if (p.use_scaled_rope && !scale)
      p.warnings.push_back(path_ + ": use_scaled_rope is true but rope_scale_factor is absent: using the reference's "
                                   "default 8 (Llama 3.2 checkpoints need 32); give rope_scale_factor to be sure");
    for (const char* name : {"bos_idx", "eos_idx"})
      if (std::optional<int64_t> id = integer(name)) {
        if (*id < 0) fail(name, "must be a token id >= 0, found " + std::to_string(*id));
        (name[0] == 'b' ? p.bos_idx : p.eos_idx) = *id;
      }
    CappedWarnings unknown;
    for (const auto& [key, value] : json_.items()) {
      if (is_listed(key, kKnownFields) || is_listed(key, kIgnoredFields)) continue;
      unknown.add(path_ + ": unknown field '" + key + "' ignored");
    }
    for (std::string& w : unknown.lines("unknown fields of " + path_ + " ignored")) p.warnings.push_back(std::move(w));
    return p;
  }

 private:
  template <size_t N>
  static bool is_listed(const std::string& key, const char* const (&list)[N]) {
    for (const char* name : list)
      if (key == name) return true;
    return false;
  }

  // The reference, in Python: h = int(2 * (4 * dim) / 3); if mult: h = int(mult * h);
  // h = multiple_of * ((h + multiple_of - 1) // multiple_of). Same double operations here.
  int64_t default_hidden_dim(const ModelParams& p) const {
    const double third = 2.0 * static_cast<double>(4 * p.dim) / 3.0;
    double h = std::trunc(third);
    if (p.ffn_dim_multiplier) h = std::trunc(*p.ffn_dim_multiplier * h);
    if (h > static_cast<double>(kMaxDimension))
      fail("ffn_dim_multiplier", "makes hidden_dim " + std::to_string(h) + ", too large");
    const int64_t hidden = static_cast<int64_t>(h);
    if (hidden <= 0)
      fail("ffn_dim_multiplier", "makes hidden_dim " + std::to_string(hidden) + ", expected > 0");
    return p.multiple_of * ((hidden + p.multiple_of - 1) / p.multiple_of);
  }
};

}  // namespace

ModelParams read_model_params(const std::string& path) {
  const Json json = parse_untrusted_json(read_small_file(path, kMaxParamsBytes), path).value;
  if (!json.is_object())
    throw Error(path + ": expected a JSON object, found " + std::string(json.type_name()));
  return ParamsReader(path, json).read();
}

}  // namespace pte
