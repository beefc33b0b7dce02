#include "exporter/model/hf_config.h"

#include <cmath>
#include <set>

#include "common/error.h"
#include "common/json_fields.h"
#include "common/json_input.h"

namespace pte {
namespace {

using Json = nlohmann::json;

constexpr int64_t kMaxDimension = int64_t{1} << 31;

// What each supported architecture means for the block (transformers' modeling_*.py).
struct Family {
  const char* architecture;
  const char* model_type;
  bool qkv_bias;            // q/k/v biases whatever the config says (Qwen2)
  bool has_attention_bias;  // the `attention_bias` key adds q/k/v/o biases (Llama, Qwen3)
  bool has_mlp_bias;        // the `mlp_bias` key adds gate/up/down biases (Llama)
  bool qk_norm;             // per-head q/k RMSNorm (Qwen3)
  bool window_flag;         // the window applies only with use_sliding_window (Qwen2/3)
};

constexpr Family kFamilies[] = {
    {"LlamaForCausalLM", "llama", false, true, true, false, false},
    {"MistralForCausalLM", "mistral", false, false, false, false, false},
    {"Qwen2ForCausalLM", "qwen2", true, false, false, false, true},
    {"Qwen3ForCausalLM", "qwen3", false, true, false, true, true},
};

// Keys that configure training, generation or HF's own runtime: they do not change the
// exported math. Listed in the notes when present.
const std::set<std::string> kHarmlessKeys = {
    "_name_or_path", "model_type", "transformers_version", "torch_dtype", "dtype", "use_cache",
    "pad_token_id", "max_position_embeddings", "initializer_range", "attention_dropout",
    "pretraining_tp", "max_window_layers", "output_attentions", "output_hidden_states",
    "return_dict", "tokenizer_class", "layer_types",
    "use_return_dict", "torchscript", "id2label", "label2id", "task_specific_params",
    "problem_type", "chunk_size_feed_forward", "is_encoder_decoder", "is_decoder",
    "tie_encoder_decoder", "add_cross_attention", "cross_attention_hidden_size",
    "finetuning_task", "prefix", "sep_token_id", "decoder_start_token_id"};

// Keys read below (the others must be harmless, refused or unknown).
const std::set<std::string> kUsedKeys = {
    "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size", "rms_norm_eps",
    "rope_theta", "rope_scaling", "tie_word_embeddings", "attention_bias", "mlp_bias",
    "hidden_act", "sliding_window", "use_sliding_window", "bos_token_id", "eos_token_id"};

class ConfigReader : public JsonFields {
 public:
  ConfigReader(const std::string& path, const Json& json) : JsonFields(path, json, "key", kMaxDimension) {}

  int64_t positive(const char* name, std::optional<int64_t> n) const {
    if (!n) fail(name, "is required (a positive integer) but missing");
    if (*n <= 0) fail(name, "must be positive, found " + std::to_string(*n));
    return *n;
  }

  bool boolean(const char* name, bool fallback) const { return JsonFields::boolean(name).value_or(fallback); }

  const Family& family() const {
    const Json* a = field("architectures");
    if (!a) fail("architectures", "is required (e.g. [\"LlamaForCausalLM\"]) but missing");
    if (!a->is_array() || a->size() != 1 || !(*a)[0].is_string())
      fail("architectures", "must be a list of one architecture name, found " + a->dump());
    const std::string name = (*a)[0].get<std::string>();
    for (const Family& f : kFamilies)
      if (name == f.architecture) return f;
    throw Error(path_ + ": architecture '" + name + "' is not supported (supported: " +
                kSupportedArchitectures + ")");
  }

  std::optional<Llama3RopeScaling> rope_scaling() const {
    const Json* s = field("rope_scaling");
    if (!s) return std::nullopt;
    if (!s->is_object()) fail("rope_scaling", "must be an object or null, found " + s->dump());
    const Json* type = s->contains("rope_type") ? &s->at("rope_type") : s->contains("type") ? &s->at("type") : nullptr;
    if (!type || !type->is_string()) fail("rope_scaling", "has no rope_type: " + s->dump());
    const std::string t = type->get<std::string>();
    if (t == "default") return std::nullopt;
    if (t != "llama3")
      fail("rope_scaling", "has rope_type '" + t + "', which is not supported (supported: llama3, default)");
    Llama3RopeScaling r;
    auto need = [&](const char* key) {
      if (!s->contains(key) || s->at(key).is_null()) fail("rope_scaling", std::string("of type llama3 needs '") + key + "'");
      return *number((std::string("rope_scaling.") + key).c_str(), &s->at(key));
    };
    r.factor = need("factor");
    r.low_freq_factor = need("low_freq_factor");
    r.high_freq_factor = need("high_freq_factor");
    r.original_context = need("original_max_position_embeddings");
    if (!(r.high_freq_factor > r.low_freq_factor))
      fail("rope_scaling", "has high_freq_factor " + s->at("high_freq_factor").dump() +
                               " <= low_freq_factor " + s->at("low_freq_factor").dump());
    for (const auto& [key, value] : s->items())
      if (key != "rope_type" && key != "type" && key != "factor" && key != "low_freq_factor" &&
          key != "high_freq_factor" && key != "original_max_position_embeddings")
        fail("rope_scaling", "has unknown field '" + key + "'");
    return r;
  }

  // eos_token_id is an integer or a list of integers.
  std::vector<int64_t> token_ids(const char* name) const {
    const Json* v = field(name);
    std::vector<int64_t> ids;
    if (!v) return ids;
    auto one = [&](const Json& x) {
      if (!x.is_number_integer() || x.get<int64_t>() < 0)
        fail(name, "must be a token id or a list of token ids, found " + v->dump());
      ids.push_back(x.get<int64_t>());
    };
    if (v->is_array()) {
      for (const Json& x : *v) one(x);
    } else {
      one(*v);
    }
    return ids;
  }

  ModelDescription read(int64_t max_context_len) const {
    const Family& f = family();
    ModelDescription d;
    d.source = path_;
    d.architecture = f.architecture;
    d.layout = TensorLayout::HuggingFace;
    d.dim = positive("hidden_size", integer("hidden_size"));
    d.n_layers = positive("num_hidden_layers", integer("num_hidden_layers"));
    d.n_heads = positive("num_attention_heads", integer("num_attention_heads"));
    d.n_kv_heads = positive("num_key_value_heads", integer("num_key_value_heads").value_or(d.n_heads));
    if (d.n_heads % d.n_kv_heads != 0)
      fail("num_key_value_heads", "is " + std::to_string(d.n_kv_heads) +
                                      ", which does not divide num_attention_heads " + std::to_string(d.n_heads));
    if (std::optional<int64_t> h = integer("head_dim")) {
      d.head_dim = positive("head_dim", h);
    } else {
      if (d.dim % d.n_heads != 0)
        fail("hidden_size", "is " + std::to_string(d.dim) + ", not divisible by num_attention_heads " +
                                std::to_string(d.n_heads) + " (give head_dim)");
      d.head_dim = d.dim / d.n_heads;
    }
    d.hidden_dim = positive("intermediate_size", integer("intermediate_size"));
    d.vocab_size = positive("vocab_size", integer("vocab_size"));
    d.norm_eps = number("rms_norm_eps").value_or(1e-6);
    d.rope_theta = number("rope_theta").value_or(10000.0);
    d.rope_scaling = rope_scaling();
    d.tie_word_embeddings = boolean("tie_word_embeddings", false);
    const Json* act = field("hidden_act");
    if (act && *act != Json("silu"))
      fail("hidden_act", "is " + act->dump() + ", expected \"silu\" (the only activation supported)");
    const bool attention_bias = boolean("attention_bias", false);
    const bool mlp_bias = boolean("mlp_bias", false);
    if (attention_bias && !f.has_attention_bias)
      fail("attention_bias", std::string("is true, but ") + f.architecture + " has no attention biases");
    if (mlp_bias && !f.has_mlp_bias)
      fail("mlp_bias", std::string("is true, but ") + f.architecture + " has no MLP biases");
    d.qkv_bias = f.qkv_bias || attention_bias;
    d.o_bias = attention_bias;
    d.mlp_bias = mlp_bias;
    d.qk_norm = f.qk_norm;
    check_sliding_window(f, max_context_len);
    check_layer_types();
    const std::vector<int64_t> bos = token_ids("bos_token_id");
    if (bos.size() > 1) fail("bos_token_id", "must be one token id, found a list");
    if (!bos.empty()) d.bos_id = bos[0];
    d.eos_ids = token_ids("eos_token_id");
    for (const char* key : {"torch_dtype", "dtype"})
      if (const Json* t = field(key))
        d.notes.push_back(path_ + ": " + key + " " + t->dump() + " (the weights are cast to the export --dtype)");
    classify_other_keys(d);
    return d;
  }

 private:
  void check_sliding_window(const Family& f, int64_t max_context_len) const {
    const bool enabled = f.window_flag ? boolean("use_sliding_window", false) : true;
    std::optional<int64_t> window = integer("sliding_window");
    if (!f.window_flag && boolean("use_sliding_window", false))
      fail("use_sliding_window", std::string("is true: sliding-window attention is not supported (") + f.architecture +
                                     " has no such option)");
    if (!enabled || !window) return;
    if (*window < max_context_len)
      fail("sliding_window", "is " + std::to_string(*window) + " (active), shorter than --max_context_len " +
                                 std::to_string(max_context_len) +
                                 ": sliding-window attention is not supported; export with --max_context_len <= " +
                                 std::to_string(*window));
  }

  void check_layer_types() const {
    const Json* types = field("layer_types");
    if (!types) return;
    if (!types->is_array()) fail("layer_types", "must be a list, found " + types->dump());
    for (const Json& t : *types)
      if (t != Json("full_attention"))
        fail("layer_types", "lists " + t.dump() + ": only full_attention layers are supported");
  }

  void classify_other_keys(ModelDescription& d) const {
    std::vector<std::string> harmless;
    CappedWarnings unknown;
    for (const auto& [key, value] : json_.items()) {
      if (kUsedKeys.count(key)) continue;
      if (kHarmlessKeys.count(key)) {
        harmless.push_back(key);
        continue;
      }
      if (key == "quantization_config")
        fail(key, "is present: pre-quantized checkpoints are not supported (give the float weights)");
      if (key == "partial_rotary_factor" && !value.is_null() && value != Json(1) && value != Json(1.0))
        fail(key, "is " + value.dump() + ": partial rotary embeddings are not supported");
      if (key == "partial_rotary_factor") {
        harmless.push_back(key);
        continue;
      }
      if (value.is_null()) {  // an absent option, in effect
        harmless.push_back(key);
        continue;
      }
      unknown.add(path_ + ": unknown key '" + key + "' ignored");
    }
    for (std::string& w : unknown.lines("unknown keys")) d.warnings.push_back(std::move(w));
    if (!harmless.empty()) {
      std::string list;
      for (const std::string& k : harmless) list += (list.empty() ? "" : ", ") + k;
      d.notes.push_back(path_ + ": keys ignored (they do not change the exported math): " + list);
    }
  }

};

}  // namespace

ModelDescription describe_hf_config(const std::string& path, const Json& config, int64_t max_context_len) {
  if (!config.is_object())
    throw Error(path + ": expected a JSON object, found " + std::string(config.type_name()));
  return ConfigReader(path, config).read(max_context_len);
}

ModelDescription read_hf_config(const std::string& path, int64_t max_context_len) {
  return describe_hf_config(path, parse_untrusted_json(read_small_file(path, 1u << 20), path).value,
                            max_context_len);
}

}  // namespace pte
