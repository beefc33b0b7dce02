#include "exporter/adapter/lora_adapter.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_input.h"

namespace pte {
namespace {

using nlohmann::json;

constexpr size_t kMaxConfigBytes = 1u << 20;

const char* kSupportedModules = "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj";

bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!alpha(s[0])) return false;
  for (char c : s)
    if (!alpha(c) && !digit(c)) return false;
  return true;
}

bool is_embedding_or_head(std::string_view s) {
  return s.find("embed_tokens") != std::string_view::npos ||
         s.find("lm_head") != std::string_view::npos ||
         s.find("lora_embedding_") != std::string_view::npos;
}

// (out, in) of the base weight of `m`.
std::pair<int64_t, int64_t> base_shape(LinearModule m, const ModelDescription& p) {
  const int64_t q = p.q_dim(), kv = p.kv_dim();
  switch (m) {
    case LinearModule::WQ: return {q, p.dim};
    case LinearModule::WK: return {kv, p.dim};
    case LinearModule::WV: return {kv, p.dim};
    case LinearModule::WO: return {p.dim, q};
    case LinearModule::W1: return {p.hidden_dim, p.dim};
    case LinearModule::W2: return {p.dim, p.hidden_dim};
    case LinearModule::W3: return {p.hidden_dim, p.dim};
  }
  return {0, 0};
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// A parsed adapter tensor name.
struct ParsedKey {
  int64_t layer = 0;
  LinearModule module = LinearModule::WQ;
  bool is_b = false;
};

constexpr std::string_view kLayersPrefix = "base_model.model.model.layers.";

// Parses base_model.model.model.layers.N.<block>.<module>.lora_{A,B}[.default].weight.
// Returns nullopt for anything else; *bad_layer_number is set when N is not a decimal number.
std::optional<ParsedKey> parse_key(std::string_view key, bool* bad_layer_number) {
  *bad_layer_number = false;
  if (key.substr(0, kLayersPrefix.size()) != kLayersPrefix) return std::nullopt;
  std::string_view rest = key.substr(kLayersPrefix.size());
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view number = rest.substr(0, dot);
  if (number.empty() || number.size() > 9 ||
      !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    *bad_layer_number = true;
    return std::nullopt;
  }
  ParsedKey k;
  k.layer = std::stoll(std::string(number));
  rest = rest.substr(dot + 1);
  // <block>.<module>.
  size_t d1 = rest.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  size_t d2 = rest.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  std::string_view block = rest.substr(0, d1), module = rest.substr(d1 + 1, d2 - d1 - 1);
  auto m = module_from_hf_name(module);
  if (!m || block != hf_block_name(*m)) return std::nullopt;
  k.module = *m;
  std::string_view tail = rest.substr(d2 + 1);
  if (tail == "lora_A.weight" || tail == "lora_A.default.weight") {
    k.is_b = false;
  } else if (tail == "lora_B.weight" || tail == "lora_B.default.weight") {
    k.is_b = true;
  } else {
    return std::nullopt;
  }
  return k;
}

struct Config {
  int64_t rank = 0;
  double alpha = 0;
  bool use_rslora = false;
  std::vector<std::string> target_modules;
};

Config read_config(const std::string& prefix, const std::string& path) {
  json j;
  try {
    j = parse_untrusted_json(read_small_file(path, kMaxConfigBytes), path).value;
  } catch (const Error& e) {
    throw Error(prefix + e.what());
  }
  if (!j.is_object()) throw Error(prefix + path + ": expected a JSON object at the top level");
  const std::string where = prefix + path + ": ";
  auto present = [&](const char* field) { return j.contains(field) && !j[field].is_null(); };

  Config c;
  // r
  if (!present("r")) throw Error(where + "required field 'r' is missing");
  const json& r = j["r"];
  if (r.is_number_integer()) {
    c.rank = r.get<int64_t>();
  } else if (r.is_number_float() && std::floor(r.get<double>()) == r.get<double>() &&
             std::abs(r.get<double>()) < 1e9) {
    c.rank = static_cast<int64_t>(r.get<double>());
  } else {
    throw Error(where + "field 'r' must be a positive integer, found " + r.dump());
  }
  if (c.rank <= 0) throw Error(where + "field 'r' must be a positive integer, found " + r.dump());

  // lora_alpha
  if (!present("lora_alpha")) throw Error(where + "required field 'lora_alpha' is missing");
  const json& alpha = j["lora_alpha"];
  if (!alpha.is_number() || !std::isfinite(alpha.get<double>()))
    throw Error(where + "field 'lora_alpha' must be a number, found " + alpha.dump());
  c.alpha = alpha.get<double>();

  // target_modules
  if (!present("target_modules")) throw Error(where + "required field 'target_modules' is missing");
  const json& targets = j["target_modules"];
  if (targets.is_string())
    throw Error(where + "field 'target_modules' is the string " + targets.dump() +
                " (a PEFT regular expression), which is not supported: list the modules, e.g. "
                "[\"q_proj\", \"v_proj\"]");
  if (!targets.is_array())
    throw Error(where + "field 'target_modules' must be a list of module names, found " +
                targets.dump());
  if (targets.empty()) throw Error(where + "field 'target_modules' is empty");
  for (const json& t : targets) {
    if (!t.is_string())
      throw Error(where + "field 'target_modules' must hold strings, found " + t.dump());
    const std::string name = t.get<std::string>();
    if (is_embedding_or_head(name))
      throw Error(where + "target_modules entry '" + name +
                  "': LoRA deltas on the embedding or lm_head are not supported (supported: " +
                  kSupportedModules + ")");
    if (!module_from_hf_name(name))
      throw Error(where + "target_modules entry '" + name + "' is not a supported module (supported: " +
                  kSupportedModules + ")");
    c.target_modules.push_back(name);
  }

  // Optional fields that change the math: reject what we cannot reproduce.
  if (present("use_rslora")) {
    if (!j["use_rslora"].is_boolean())
      throw Error(where + "field 'use_rslora' must be true or false, found " + j["use_rslora"].dump());
    c.use_rslora = j["use_rslora"].get<bool>();
  }
  if (present("use_dora") && j["use_dora"] != json(false))
    throw Error(where + "field 'use_dora' is " + j["use_dora"].dump() +
                ": DoRA adapters are not supported");
  if (present("fan_in_fan_out") && j["fan_in_fan_out"] != json(false))
    throw Error(where + "field 'fan_in_fan_out' is " + j["fan_in_fan_out"].dump() +
                ": transposed (Conv1D) LoRA weights are not supported");
  if (present("modules_to_save") && !(j["modules_to_save"].is_array() && j["modules_to_save"].empty()))
    throw Error(where + "field 'modules_to_save' is " + j["modules_to_save"].dump() +
                ": fully trained modules are not supported, only LoRA deltas");
  for (const char* field : {"rank_pattern", "alpha_pattern"})
    if (present(field) && !(j[field].is_object() && j[field].empty()))
      throw Error(where + "field '" + field + "' is " + j[field].dump() +
                  ": per-module ranks or alphas are not supported");
  if (present("peft_type") && j["peft_type"] != json("LORA"))
    throw Error(where + "field 'peft_type' is " + j["peft_type"].dump() + ", expected \"LORA\"");
  return c;
}

}  // namespace

void validate_adapter_names(const std::vector<AdapterSpec>& adapters, bool multifunction) {
  // method name -> who owns it ("" for the base model)
  std::map<std::string, std::string> owner;
  owner["forward"] = "";
  if (multifunction) owner["prefill"] = "";
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < adapters.size(); ++i) {
    const std::string& name = adapters[i].name;
    if (!is_identifier(name))
      throw Error("adapter name '" + name +
                  "' is not an identifier: it must match [A-Za-z_][A-Za-z0-9_]*");
    if (auto it = seen.find(name); it != seen.end())
      throw Error("duplicate adapter name '" + name + "' (adapters " + std::to_string(it->second + 1) +
                  " and " + std::to_string(i + 1) + ")");
    seen[name] = i;
    if (name == "forward" || name == "prefill")
      throw Error("adapter name '" + name + "' is reserved: '" + name +
                  "' is a method of the base model");
  }
  for (const AdapterSpec& a : adapters) {
    std::vector<std::string> methods;
    if (multifunction)
      methods = {a.name + "_forward", a.name + "_prefill"};
    else
      methods = {a.name};
    for (const std::string& m : methods) {
      auto it = owner.find(m);
      if (it != owner.end())
        throw Error("adapter '" + a.name + "': its method '" + m + "' collides with the method '" + m +
                    "' of " + (it->second.empty() ? std::string("the base model")
                                                  : "adapter '" + it->second + "'"));
      owner[m] = a.name;
    }
  }
  // `pte run --method NAME` takes an adapter name: it must not also be another method's name.
  for (const AdapterSpec& a : adapters)
    if (auto it = owner.find(a.name); it != owner.end() && it->second != a.name)
      throw Error("adapter name '" + a.name + "' is also the method '" + a.name + "' of adapter '" + it->second +
                  "', so --method " + a.name + " would be ambiguous");
}

LoraAdapter read_lora_adapter(const AdapterSpec& spec, const ModelDescription& params) {
  const std::string prefix = "adapter '" + spec.name + "': ";
  namespace fs = std::filesystem;
  auto exists = [](const std::string& p) {
    std::error_code ec;
    return !p.empty() && fs::is_regular_file(p, ec);
  };
  const bool has_ckpt = exists(spec.checkpoint), has_cfg = exists(spec.config);
  if (!has_ckpt && !has_cfg)
    throw Error(prefix + "neither the checkpoint '" + spec.checkpoint + "' nor the config '" +
                spec.config + "' exists");
  if (!has_ckpt)
    throw Error(prefix + "config '" + spec.config + "' is given but the adapter checkpoint '" +
                spec.checkpoint + "' does not exist");
  if (!has_cfg)
    throw Error(prefix + "checkpoint '" + spec.checkpoint + "' is given but the adapter config '" +
                spec.config + "' (adapter_config.json) does not exist");

  LoraAdapter a;
  a.name = spec.name;
  a.checkpoint_path = spec.checkpoint;
  a.config_path = spec.config;
  const Config c = read_config(prefix, spec.config);
  a.rank = c.rank;
  a.alpha = c.alpha;
  a.use_rslora = c.use_rslora;
  a.scale = c.use_rslora ? c.alpha / std::sqrt(static_cast<double>(c.rank))
                         : c.alpha / static_cast<double>(c.rank);
  a.target_modules = c.target_modules;

  try {
    a.checkpoint = open_checkpoint(spec.checkpoint);
  } catch (const Error& e) {
    throw Error(prefix + e.what());
  }

  const std::string where = prefix + spec.checkpoint + ": ";
  std::set<LinearModule> wanted;
  for (const std::string& t : c.target_modules) wanted.insert(*module_from_hf_name(t));

  // (layer, module) -> A and B names
  std::map<std::pair<int64_t, LinearModule>, std::pair<std::string, std::string>> found;
  for (const TensorView& t : a.checkpoint->tensors()) {
    const std::string& n = t.name;
    bool bad_layer = false;
    auto k = parse_key(n, &bad_layer);
    if (!k) {
      if (n.find("lora_magnitude_vector") != std::string::npos)
        throw Error(where + "tensor '" + n + "' is a DoRA magnitude vector: DoRA adapters are not supported");
      if (is_embedding_or_head(n))
        throw Error(where + "tensor '" + n +
                    "' is a delta on the embedding or lm_head, which is not supported");
      throw Error(where + "tensor '" + n + "' maps to no module (expected " + std::string(kLayersPrefix) +
                  "N.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight or " + std::string(kLayersPrefix) +
                  "N.mlp.{gate,up,down}_proj.lora_{A,B}.weight)");
    }
    if (k->layer >= params.n_layers)
      throw Error(where + "tensor '" + n + "' is for layer " + std::to_string(k->layer) +
                  " but the base model has " + std::to_string(params.n_layers) + " layers");
    if (!wanted.count(k->module))
      throw Error(where + "tensor '" + n + "' is for module '" + hf_module_name(k->module) +
                  "', which is not in target_modules of " + spec.config);
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
      throw Error(where + "tensor '" + n + "' has dtype " + dtype_name(t.dtype) +
                  ", expected a float type (F32, F16 or BF16)");
    const auto [out, in] = base_shape(k->module, params);
    const std::vector<int64_t> expected =
        k->is_b ? std::vector<int64_t>{out, a.rank} : std::vector<int64_t>{a.rank, in};
    if (t.shape != expected)
      throw Error(where + "tensor '" + n + "' has shape " + shape_text(t.shape) + ", expected " +
                  shape_text(expected) + " (" + (k->is_b ? "lora_B [out, r]" : "lora_A [r, in]") +
                  " for " + meta_module_name(k->module) + " with r = " + std::to_string(a.rank) + ")");
    auto& slot = found[{k->layer, k->module}];
    std::string& dst = k->is_b ? slot.second : slot.first;
    if (!dst.empty())
      throw Error(where + "tensors '" + dst + "' and '" + n + "' are both lora_" +
                  (k->is_b ? "B" : "A") + " of layer " + std::to_string(k->layer) + " " +
                  hf_module_name(k->module));
    dst = n;
  }

  std::set<LinearModule> covered;
  for (const auto& [key, names] : found) {
    const auto [layer, module] = key;
    const std::string what = "layer " + std::to_string(layer) + " " + hf_module_name(module);
    if (names.second.empty())
      throw Error(where + "tensor '" + names.first + "' (lora_A of " + what +
                  ") has no matching lora_B tensor");
    if (names.first.empty())
      throw Error(where + "tensor '" + names.second + "' (lora_B of " + what +
                  ") has no matching lora_A tensor");
    const auto [out, in] = base_shape(module, params);
    a.targets.push_back(LoraTarget{layer, module, names.first, names.second, in, out});
    covered.insert(module);
  }
  for (const std::string& t : c.target_modules)
    if (!covered.count(*module_from_hf_name(t)))
      throw Error(where + "target module '" + t + "' (listed in " + spec.config +
                  ") has no tensors in the checkpoint");
  // std::map iteration already gives (layer, module) order; module order is the enum order.
  return a;
}

}  // namespace pte
