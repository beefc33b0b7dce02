#pragma once
// The seven linears of a Llama block, and their names in Meta layout (`attention.wq` under
// `layers.N.`) and in Hugging Face / PEFT layout (`self_attn.q_proj` under `model.layers.N.`).
#include <optional>
#include <string>
#include <string_view>

namespace pte {

enum class LinearModule { WQ, WK, WV, WO, W1, W2, W3 };

inline constexpr LinearModule kLinearModules[] = {LinearModule::WQ, LinearModule::WK, LinearModule::WV,
                                                  LinearModule::WO, LinearModule::W1, LinearModule::W2,
                                                  LinearModule::W3};

// "attention.wq", ..., "feed_forward.w3".
const char* meta_module_name(LinearModule m);
// "q_proj", ..., "down_proj" (gate_proj = w1, up_proj = w3, down_proj = w2).
const char* hf_module_name(LinearModule m);
// "self_attn" or "mlp": the HF block that holds the module.
const char* hf_block_name(LinearModule m);
std::optional<LinearModule> module_from_hf_name(std::string_view name);
// The Meta module name of the linear whose weight is checkpoint tensor `weight` (either layout):
// "layers.N.attention.wq", ...; any other tensor a linear reads is the output head: "output".
std::string meta_linear_name(std::string_view weight);

}  // namespace pte
