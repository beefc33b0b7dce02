// config.json -> model description: what is read, what is ignored, what is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "exporter/model/hf_config.h"
#include "exporter/model/model_files.h"

namespace pte {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

std::string write_config(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "pte_model_tests";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

// A Qwen3-0.6B-like config, with `extra` appended to its keys.
std::string qwen3(const std::string& extra = "") {
  return R"({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024,
    "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
    "intermediate_size": 3072, "vocab_size": 151936, "rms_norm_eps": 1e-06, "rope_theta": 1000000,
    "rope_scaling": null, "tie_word_embeddings": true, "attention_bias": false, "hidden_act": "silu",
    "sliding_window": null, "use_sliding_window": false, "max_window_layers": 28, "torch_dtype": "bfloat16",
    "bos_token_id": 151643, "eos_token_id": 151645, "max_position_embeddings": 40960)" + extra + "}";
}

std::string error_of(const std::string& name, const std::string& text, int64_t context = 1024) {
  const std::string path = write_config(name, text);
  try {
    read_hf_config(path, context);
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), path);
    return e.what();
  }
  ADD_FAILURE() << "accepted " << name;
  return "";
}

TEST(HfConfig, Qwen3) {
  const ModelDescription d = read_hf_config(write_config("qwen3.json", qwen3()), 1024);
  EXPECT_EQ(d.layout, TensorLayout::HuggingFace);
  EXPECT_EQ(d.architecture, "Qwen3ForCausalLM");
  EXPECT_EQ(d.dim, 1024);
  EXPECT_EQ(d.n_layers, 28);
  EXPECT_EQ(d.n_heads, 16);
  EXPECT_EQ(d.n_kv_heads, 8);
  EXPECT_EQ(d.head_dim, 128);  // != 1024 / 16
  EXPECT_EQ(d.hidden_dim, 3072);
  EXPECT_EQ(d.vocab_size, 151936);
  EXPECT_EQ(d.norm_eps, 1e-6);
  EXPECT_EQ(d.rope_theta, 1e6);
  EXPECT_FALSE(d.rope_scaling);
  EXPECT_TRUE(d.qk_norm);
  EXPECT_FALSE(d.qkv_bias);
  EXPECT_EQ(d.tie_word_embeddings, true);
  EXPECT_EQ(d.bos_id, 151643);
  EXPECT_EQ(d.eos_ids, std::vector<int64_t>{151645});
  EXPECT_TRUE(d.warnings.empty());
  bool listed = false;
  for (const std::string& n : d.notes) listed |= n.find("max_position_embeddings") != std::string::npos;
  EXPECT_TRUE(listed) << "harmless keys are listed in the notes";
}

TEST(HfConfig, Llama32WithRopeScalingAndDefaults) {
  const ModelDescription d = read_hf_config(write_config("llama.json", R"({"architectures": ["LlamaForCausalLM"],
    "hidden_size": 2048, "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
    "intermediate_size": 8192, "vocab_size": 128256, "rope_theta": 500000.0, "tie_word_embeddings": true,
    "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "eos_token_id": [128001, 128008, 128009], "pretraining_tp": 1, "mlp_bias": false})"), 1024);
  EXPECT_EQ(d.head_dim, 64);
  ASSERT_TRUE(d.rope_scaling);
  EXPECT_EQ(d.rope_scaling->factor, 32.0);
  EXPECT_EQ(d.rope_scaling->original_context, 8192.0);
  EXPECT_EQ(d.norm_eps, 1e-6);  // HF's default
  EXPECT_EQ(d.eos_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_FALSE(d.qk_norm);
  const ModelDescription q2 = read_hf_config(write_config("qwen2.json", R"({"architectures": ["Qwen2ForCausalLM"],
    "hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
    "intermediate_size": 4864, "vocab_size": 151936, "use_sliding_window": false, "sliding_window": 32768})"), 1024);
  EXPECT_TRUE(q2.qkv_bias);
  EXPECT_FALSE(q2.o_bias);
  EXPECT_EQ(q2.tie_word_embeddings, false);
}

TEST(HfConfig, RefusesWhatChangesTheMath) {
  EXPECT_CONTAINS(error_of("gemma.json", R"({"architectures": ["Gemma3ForCausalLM"]})"),
                  "architecture 'Gemma3ForCausalLM' is not supported (supported: LlamaForCausalLM, MistralForCausalLM, "
                  "Qwen2ForCausalLM, Qwen3ForCausalLM)");
  EXPECT_CONTAINS(error_of("noarch.json", R"({"hidden_size": 8})"), "key 'architectures' is required");
  EXPECT_CONTAINS(error_of("twice.json", qwen3(R"(, "rope_scaling": {"rope_type": "yarn", "factor": 4})")),
                  "appears twice");  // a duplicate key (rope_scaling is already there) is refused
  std::string yarn = qwen3();
  yarn.replace(yarn.find("\"rope_scaling\": null"), 20, R"("rope_scaling": {"rope_type": "yarn", "factor": 4})");
  EXPECT_CONTAINS(error_of("yarn2.json", yarn), "key 'rope_scaling' has rope_type 'yarn', which is not supported");
  std::string gelu = qwen3();
  gelu.replace(gelu.find("\"silu\""), 6, "\"gelu\"");
  EXPECT_CONTAINS(error_of("gelu.json", gelu), "key 'hidden_act' is \"gelu\", expected \"silu\"");
  std::string window = qwen3();
  window.replace(window.find("\"use_sliding_window\": false"), 27, "\"use_sliding_window\": true");
  window.replace(window.find("\"sliding_window\": null"), 22, "\"sliding_window\": 512");
  EXPECT_CONTAINS(error_of("window.json", window), "key 'sliding_window' is 512 (active), shorter than --max_context_len 1024");
  EXPECT_CONTAINS(error_of("mistral.json", R"({"architectures": ["MistralForCausalLM"], "hidden_size": 64,
    "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 10,
    "sliding_window": 100})", 512), "key 'sliding_window' is 100 (active)");
  EXPECT_CONTAINS(error_of("quant.json", qwen3(R"(, "quantization_config": {"quant_method": "awq"})")),
                  "key 'quantization_config' is present");
  EXPECT_CONTAINS(error_of("gqa.json", R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
    "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 3, "intermediate_size": 8, "vocab_size": 8})"),
                  "key 'num_key_value_heads' is 3, which does not divide num_attention_heads 4");
  EXPECT_CONTAINS(error_of("missing.json", R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64})"),
                  "key 'num_hidden_layers' is required");
  EXPECT_CONTAINS(error_of("bias.json", R"({"architectures": ["MistralForCausalLM"], "hidden_size": 64,
    "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 10, "attention_bias": true})"),
                  "key 'attention_bias' is true, but MistralForCausalLM has no attention biases");
  EXPECT_CONTAINS(error_of("layers.json", qwen3(R"(, "layer_types": ["full_attention", "sliding_attention"])")),
                  "key 'layer_types' lists \"sliding_attention\"");
}

TEST(HfConfig, UnknownKeysAreCappedWarnings) {
  std::string extra;
  for (int i = 0; i < 30; ++i) extra += ", \"future_option_" + std::to_string(i) + "\": 1";
  const ModelDescription d = read_hf_config(write_config("unknown.json", qwen3(extra)), 1024);
  ASSERT_EQ(d.warnings.size(), 21u);
  EXPECT_CONTAINS(d.warnings[0], "unknown key 'future_option_0' ignored");
  EXPECT_CONTAINS(d.warnings.back(), "... and 10 more unknown keys");
}

TEST(ModelFiles, ConfigKindIsReadFromItsContent) {
  EXPECT_EQ(read_model_description(write_config("any_name.json", qwen3()), 1024).layout, TensorLayout::HuggingFace);
  const ModelDescription meta =
      read_model_description(write_config("params.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4})"), 1024);
  EXPECT_EQ(meta.layout, TensorLayout::Meta);
  EXPECT_EQ(meta.head_dim, 16);
  try {
    find_model_config(write_config("weights.safetensors", ""), "");
    ADD_FAILURE() << "a file checkpoint without -p was accepted";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "-p/--params is required");
  }
}

}  // namespace
}  // namespace pte
