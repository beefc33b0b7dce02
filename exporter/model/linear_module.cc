#include "exporter/model/linear_module.h"

namespace pte {

const char* meta_module_name(LinearModule m) {
  switch (m) {
    case LinearModule::WQ: return "attention.wq";
    case LinearModule::WK: return "attention.wk";
    case LinearModule::WV: return "attention.wv";
    case LinearModule::WO: return "attention.wo";
    case LinearModule::W1: return "feed_forward.w1";
    case LinearModule::W2: return "feed_forward.w2";
    case LinearModule::W3: return "feed_forward.w3";
  }
  return "?";
}

const char* hf_module_name(LinearModule m) {
  switch (m) {
    case LinearModule::WQ: return "q_proj";
    case LinearModule::WK: return "k_proj";
    case LinearModule::WV: return "v_proj";
    case LinearModule::WO: return "o_proj";
    case LinearModule::W1: return "gate_proj";
    case LinearModule::W2: return "down_proj";
    case LinearModule::W3: return "up_proj";
  }
  return "?";
}

const char* hf_block_name(LinearModule m) {
  switch (m) {
    case LinearModule::WQ: case LinearModule::WK: case LinearModule::WV: case LinearModule::WO:
      return "self_attn";
    default:
      return "mlp";
  }
}

std::optional<LinearModule> module_from_hf_name(std::string_view name) {
  for (LinearModule m : kLinearModules)
    if (name == hf_module_name(m)) return m;
  return std::nullopt;
}

std::string meta_linear_name(std::string_view weight) {
  std::string_view rest = weight;
  if (rest.starts_with("model.")) rest.remove_prefix(6);
  if (rest.starts_with("layers.") && rest.ends_with(".weight")) {
    rest.remove_prefix(7);
    const size_t dot = rest.find('.');
    if (dot != std::string_view::npos && dot > 0) {
      const std::string layer(rest.substr(0, dot));
      const std::string_view module = rest.substr(dot + 1, rest.size() - dot - 1 - 7);
      for (LinearModule m : kLinearModules)
        if (module == meta_module_name(m) || module == std::string(hf_block_name(m)) + "." + hf_module_name(m))
          return "layers." + layer + "." + meta_module_name(m);
    }
  }
  return "output";
}

}  // namespace pte
