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

}  // namespace pte
