#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/float16.h"
#include "exporter/adapter/lora_adapter.h"

namespace pte {
namespace {

using nlohmann::json;

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

// A tensor to write: dtype "F32", "F16" or "I64"; values default to 0.01 * index.
struct T {
  std::vector<int64_t> shape;
  std::string dtype = "F32";
  std::vector<float> values = {};
};

// safetensors: u64 LE header length, the JSON header, then the raw data, in the given order.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, T>>& tensors) {
  json header = json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    std::vector<float> v = t.values;
    if (v.empty())
      for (int64_t i = 0; i < n; ++i) v.push_back(0.01f * static_cast<float>(i));
    const size_t begin = data.size();
    for (float f : v) {
      if (t.dtype == "F32") {
        data.append(reinterpret_cast<const char*>(&f), 4);
      } else if (t.dtype == "F16") {
        const uint16_t h = float_to_half(f);
        data.append(reinterpret_cast<const char*>(&h), 2);
      } else {
        const int64_t i = static_cast<int64_t>(f);
        data.append(reinterpret_cast<const char*>(&i), 8);
      }
    }
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8) h += ' ';
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(uint64_t(h.size()) >> (8 * i));
  out += h + data;
  std::ofstream(path, std::ios::binary).write(out.data(), static_cast<std::streamsize>(out.size()));
}

// Tiny Llama: dim 8, 2 layers, 2 heads of 4, 1 KV head, hidden 24. So wq/wo [8, 8],
// wk/wv [4, 8], w1/w3 [24, 8], w2 [8, 24].
ModelDescription tiny_params() {
  ModelDescription p;
  p.dim = 8;
  p.n_layers = 2;
  p.n_heads = 2;
  p.n_kv_heads = 1;
  p.head_dim = 4;
  p.hidden_dim = 24;
  p.vocab_size = 32;
  return p;
}

const std::string kL = "base_model.model.model.layers.";

class LoraAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / "pte_adapter_tests" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    spec_ = {"style", (dir_ / "adapter_model.safetensors").string(),
             (dir_ / "adapter_config.json").string()};
  }

  json config(int r = 2, double alpha = 4, json targets = {"q_proj", "down_proj"}) {
    return {{"r", r}, {"lora_alpha", alpha}, {"target_modules", targets}, {"peft_type", "LORA"},
            {"lora_dropout", 0.05}, {"bias", "none"}, {"task_type", "CAUSAL_LM"},
            {"use_rslora", false}, {"use_dora", false}, {"fan_in_fan_out", false},
            {"modules_to_save", nullptr}, {"rank_pattern", json::object()},
            {"alpha_pattern", json::object()}, {"base_model_name_or_path", "meta-llama/x"}};
  }
  void write_config(const json& j) { std::ofstream(spec_.config) << j.dump(2); }
  void write_config_text(const std::string& text) { std::ofstream(spec_.config) << text; }
  void write_tensors(const std::vector<std::pair<std::string, T>>& t) { write_safetensors(spec_.checkpoint, t); }

  // The default adapter: r 2 on q_proj of layer 1 and down_proj of layer 0.
  std::vector<std::pair<std::string, T>> good_tensors() {
    return {{kL + "1.self_attn.q_proj.lora_A.weight", {{2, 8}}},
            {kL + "1.self_attn.q_proj.lora_B.weight", {{8, 2}}},
            {kL + "0.mlp.down_proj.lora_A.weight", {{2, 24}}},
            {kL + "0.mlp.down_proj.lora_B.weight", {{8, 2}}}};
  }
  // Writes the default config and tensors plus `extra`, and returns the error text.
  std::string error_with(const std::vector<std::pair<std::string, T>>& extra, json cfg = nullptr) {
    write_config(cfg.is_null() ? config() : cfg);
    auto t = good_tensors();
    t.insert(t.end(), extra.begin(), extra.end());
    write_tensors(t);
    return error();
  }
  std::string error() {
    try {
      read_lora_adapter(spec_, tiny_params());
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected a pte::Error";
    return "";
  }

  std::filesystem::path dir_;
  AdapterSpec spec_;
};

TEST_F(LoraAdapterTest, MetaModuleNames) {
  EXPECT_STREQ(meta_module_name(LinearModule::WQ), "attention.wq");
  EXPECT_STREQ(meta_module_name(LinearModule::WK), "attention.wk");
  EXPECT_STREQ(meta_module_name(LinearModule::WV), "attention.wv");
  EXPECT_STREQ(meta_module_name(LinearModule::WO), "attention.wo");
  EXPECT_STREQ(meta_module_name(LinearModule::W1), "feed_forward.w1");
  EXPECT_STREQ(meta_module_name(LinearModule::W2), "feed_forward.w2");
  EXPECT_STREQ(meta_module_name(LinearModule::W3), "feed_forward.w3");
}

TEST_F(LoraAdapterTest, ReadsAllModulesSortedWithShapesAndScale) {
  // All seven modules, written in a scrambled order, mixed dtypes, `.default` keys accepted.
  write_config(config(2, 6, {"up_proj", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "down_proj"}));
  write_tensors({
      {kL + "1.mlp.up_proj.lora_B.weight", {{24, 2}, "F16"}},
      {kL + "1.mlp.up_proj.lora_A.weight", {{2, 8}, "F16"}},
      {kL + "0.mlp.down_proj.lora_A.weight", {{2, 24}}},
      {kL + "0.mlp.down_proj.lora_B.weight", {{8, 2}}},
      {kL + "0.mlp.gate_proj.lora_A.weight", {{2, 8}}},
      {kL + "0.mlp.gate_proj.lora_B.weight", {{24, 2}}},
      {kL + "0.self_attn.o_proj.lora_A.weight", {{2, 8}}},
      {kL + "0.self_attn.o_proj.lora_B.weight", {{8, 2}}},
      {kL + "0.self_attn.v_proj.lora_A.default.weight", {{2, 8}}},
      {kL + "0.self_attn.v_proj.lora_B.default.weight", {{4, 2}}},
      {kL + "0.self_attn.k_proj.lora_A.weight", {{2, 8}}},
      {kL + "0.self_attn.k_proj.lora_B.weight", {{4, 2}}},
      {kL + "0.self_attn.q_proj.lora_A.weight", {{2, 8}, "F32", {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8}}},
      {kL + "0.self_attn.q_proj.lora_B.weight", {{8, 2}}},
  });
  LoraAdapter a = read_lora_adapter(spec_, tiny_params());
  EXPECT_EQ(a.name, "style");
  EXPECT_EQ(a.checkpoint_path, spec_.checkpoint);
  EXPECT_EQ(a.config_path, spec_.config);
  EXPECT_EQ(a.rank, 2);
  EXPECT_EQ(a.alpha, 6.0);
  EXPECT_FALSE(a.use_rslora);
  EXPECT_EQ(a.scale, 3.0);
  EXPECT_EQ(a.target_modules,
            (std::vector<std::string>{"up_proj", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "down_proj"}));

  ASSERT_EQ(a.targets.size(), 7u);
  struct Want { int64_t layer; LinearModule m; const char* peft; int64_t in, out; };
  const Want want[] = {{0, LinearModule::WQ, "0.self_attn.q_proj", 8, 8},
                       {0, LinearModule::WK, "0.self_attn.k_proj", 8, 4},
                       {0, LinearModule::WV, "0.self_attn.v_proj", 8, 4},
                       {0, LinearModule::WO, "0.self_attn.o_proj", 8, 8},
                       {0, LinearModule::W1, "0.mlp.gate_proj", 8, 24},
                       {0, LinearModule::W2, "0.mlp.down_proj", 24, 8},
                       {1, LinearModule::W3, "1.mlp.up_proj", 8, 24}};
  for (size_t i = 0; i < 7; ++i) {
    SCOPED_TRACE(i);
    const LoraTarget& t = a.targets[i];
    EXPECT_EQ(t.layer, want[i].layer);
    EXPECT_EQ(t.module, want[i].m);
    const std::string suffix = want[i].m == LinearModule::WV ? ".default.weight" : ".weight";
    EXPECT_EQ(t.a_tensor, kL + want[i].peft + ".lora_A" + suffix);
    EXPECT_EQ(t.b_tensor, kL + want[i].peft + ".lora_B" + suffix);
    EXPECT_EQ(t.in, want[i].in);
    EXPECT_EQ(t.out, want[i].out);
  }

  // The checkpoint stays open and its tensors are the adapter's values.
  ASSERT_NE(a.checkpoint, nullptr);
  const TensorView* q_a = a.checkpoint->find(a.targets[0].a_tensor);
  ASSERT_NE(q_a, nullptr);
  std::vector<float> v(16);
  q_a->read_f32(v.data());
  EXPECT_EQ(v, (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8}));
  const TensorView* up_b = a.checkpoint->find(a.targets[6].b_tensor);
  ASSERT_NE(up_b, nullptr);
  EXPECT_EQ(up_b->dtype, DType::F16);
}

TEST_F(LoraAdapterTest, RsLoraScaleIsAlphaOverSqrtR) {
  json cfg = config(4, 8, {"q_proj"});
  write_tensors({{kL + "0.self_attn.q_proj.lora_A.weight", {{4, 8}}},
                 {kL + "0.self_attn.q_proj.lora_B.weight", {{8, 4}}}});
  write_config(cfg);
  EXPECT_EQ(read_lora_adapter(spec_, tiny_params()).scale, 2.0);  // 8 / 4
  cfg["use_rslora"] = true;
  write_config(cfg);
  LoraAdapter a = read_lora_adapter(spec_, tiny_params());
  EXPECT_TRUE(a.use_rslora);
  EXPECT_EQ(a.scale, 4.0);  // 8 / sqrt(4)
  cfg["r"] = 2;
  cfg["lora_alpha"] = 3;
  write_config(cfg);
  write_tensors({{kL + "0.self_attn.q_proj.lora_A.weight", {{2, 8}}},
                 {kL + "0.self_attn.q_proj.lora_B.weight", {{8, 2}}}});
  EXPECT_DOUBLE_EQ(read_lora_adapter(spec_, tiny_params()).scale, 3.0 / std::sqrt(2.0));
}

TEST_F(LoraAdapterTest, CheckpointWithoutConfig) {
  write_tensors(good_tensors());
  const std::string e = error();
  EXPECT_CONTAINS(e, "adapter 'style'");
  EXPECT_CONTAINS(e, "adapter config '" + spec_.config + "' (adapter_config.json) does not exist");
}

TEST_F(LoraAdapterTest, ConfigWithoutCheckpoint) {
  write_config(config());
  const std::string e = error();
  EXPECT_CONTAINS(e, "adapter 'style'");
  EXPECT_CONTAINS(e, "adapter checkpoint '" + spec_.checkpoint + "' does not exist");
}

TEST_F(LoraAdapterTest, NeitherFileExists) {
  EXPECT_CONTAINS(error(), "neither the checkpoint");
}

TEST_F(LoraAdapterTest, ConfigMissingRequiredFields) {
  for (const char* field : {"r", "lora_alpha", "target_modules"}) {
    SCOPED_TRACE(field);
    json cfg = config();
    cfg.erase(field);
    const std::string e = error_with({}, cfg);
    EXPECT_CONTAINS(e, spec_.config + ": required field '" + field + "' is missing");
    cfg[field] = nullptr;  // null counts as missing
    EXPECT_CONTAINS(error_with({}, cfg), "required field '" + std::string(field) + "' is missing");
  }
}

TEST_F(LoraAdapterTest, ConfigFieldsOfTheWrongKind) {
  json cfg = config();
  cfg["r"] = 0;
  EXPECT_CONTAINS(error_with({}, cfg), "field 'r' must be a positive integer, found 0");
  cfg["r"] = 2.5;
  EXPECT_CONTAINS(error_with({}, cfg), "field 'r' must be a positive integer, found 2.5");
  cfg["r"] = "2";
  EXPECT_CONTAINS(error_with({}, cfg), "field 'r' must be a positive integer");
  cfg = config();
  cfg["lora_alpha"] = "16";
  EXPECT_CONTAINS(error_with({}, cfg), "field 'lora_alpha' must be a number");
  cfg = config();
  cfg["target_modules"] = json::array({"q_proj", 3});
  EXPECT_CONTAINS(error_with({}, cfg), "field 'target_modules' must hold strings");
  cfg["target_modules"] = json::array();
  EXPECT_CONTAINS(error_with({}, cfg), "field 'target_modules' is empty");
  cfg = config();
  cfg["use_rslora"] = "yes";
  EXPECT_CONTAINS(error_with({}, cfg), "field 'use_rslora' must be true or false");
  cfg = config();
  cfg["peft_type"] = "IA3";
  EXPECT_CONTAINS(error_with({}, cfg), "field 'peft_type' is \"IA3\"");
  write_config_text("{\"r\": 2,");
  EXPECT_CONTAINS(error(), spec_.config + ": not valid JSON");
}

TEST_F(LoraAdapterTest, TargetModulesRegexStringIsNotSupported) {
  json cfg = config();
  cfg["target_modules"] = ".*\\.(q_proj|v_proj)";
  const std::string e = error_with({}, cfg);
  EXPECT_CONTAINS(e, "field 'target_modules' is the string");
  EXPECT_CONTAINS(e, "not supported");
}

TEST_F(LoraAdapterTest, UnknownTargetModule) {
  const std::string e = error_with({}, config(2, 4, {"q_proj", "down_proj", "mlp.fc1"}));
  EXPECT_CONTAINS(e, "target_modules entry 'mlp.fc1' is not a supported module");
}

TEST_F(LoraAdapterTest, EmbeddingAndLmHeadInTargetModules) {
  for (const char* m : {"embed_tokens", "lm_head"}) {
    const std::string e = error_with({}, config(2, 4, {"q_proj", "down_proj", m}));
    EXPECT_CONTAINS(e, "target_modules entry '" + std::string(m) + "'");
    EXPECT_CONTAINS(e, "embedding or lm_head are not supported");
  }
}

TEST_F(LoraAdapterTest, EmbeddingAndLmHeadTensors) {
  for (const std::string n : {"base_model.model.model.embed_tokens.lora_embedding_A",
                              "base_model.model.lm_head.lora_A.weight",
                              "base_model.model.lm_head.lora_B.weight"}) {
    const std::string e = error_with({{n, {{2, 8}}}});
    EXPECT_CONTAINS(e, "tensor '" + n + "' is a delta on the embedding or lm_head");
  }
}

TEST_F(LoraAdapterTest, DoraViaConfig) {
  json cfg = config();
  cfg["use_dora"] = true;
  EXPECT_CONTAINS(error_with({}, cfg), "field 'use_dora' is true: DoRA adapters are not supported");
}

TEST_F(LoraAdapterTest, DoraViaMagnitudeTensor) {
  const std::string n = kL + "1.self_attn.q_proj.lora_magnitude_vector";
  const std::string e = error_with({{n, {{8}}}});
  EXPECT_CONTAINS(e, "tensor '" + n + "' is a DoRA magnitude vector");
}

TEST_F(LoraAdapterTest, FanInFanOut) {
  json cfg = config();
  cfg["fan_in_fan_out"] = true;
  EXPECT_CONTAINS(error_with({}, cfg), "field 'fan_in_fan_out' is true");
}

TEST_F(LoraAdapterTest, ModulesToSaveAndPerModulePatterns) {
  json cfg = config();
  cfg["modules_to_save"] = {"lm_head"};
  EXPECT_CONTAINS(error_with({}, cfg), "field 'modules_to_save' is [\"lm_head\"]");
  cfg["modules_to_save"] = json::array();
  cfg["rank_pattern"] = {{"q_proj", 4}};
  EXPECT_CONTAINS(error_with({}, cfg), "field 'rank_pattern'");
  cfg["rank_pattern"] = json::object();
  cfg["alpha_pattern"] = {{"q_proj", 4}};
  EXPECT_CONTAINS(error_with({}, cfg), "field 'alpha_pattern'");
  cfg["alpha_pattern"] = json::object();
  write_config(cfg);
  EXPECT_NO_THROW(read_lora_adapter(spec_, tiny_params()));
}

TEST_F(LoraAdapterTest, TensorThatMapsToNoModule) {
  for (const std::string& n : std::vector<std::string>{"something.else", kL + "0.self_attn.rotary_emb.lora_A.weight",
                              kL + "0.self_attn.gate_proj.lora_A.weight",  // wrong block
                              kL + "0.mlp.down_proj.lora_B.bias", kL + "x.self_attn.q_proj.lora_A.weight",
                              "base_model.model.layers.0.self_attn.q_proj.lora_A.weight"}) {
    SCOPED_TRACE(n);
    const std::string e = error_with({{n, {{2, 8}}}});
    EXPECT_CONTAINS(e, spec_.checkpoint + ": tensor '" + n + "' maps to no module");
  }
}

TEST_F(LoraAdapterTest, TargetModuleWithoutTensors) {
  const std::string e = error_with({}, config(2, 4, {"q_proj", "down_proj", "v_proj"}));
  EXPECT_CONTAINS(e, "target module 'v_proj'");
  EXPECT_CONTAINS(e, "has no tensors");
}

TEST_F(LoraAdapterTest, TensorOfModuleOutsideTargetModules) {
  const std::string e = error_with({{kL + "0.self_attn.k_proj.lora_A.weight", {{2, 8}}},
                                    {kL + "0.self_attn.k_proj.lora_B.weight", {{4, 2}}}});
  EXPECT_CONTAINS(e, "is for module 'k_proj', which is not in target_modules");
}

TEST_F(LoraAdapterTest, AShapeThatDoesNotFit) {
  write_config(config());
  auto t = good_tensors();
  t[2].second.shape = {2, 8};  // down_proj A must be [r, hidden] = [2, 24]
  write_tensors(t);
  const std::string e = error();
  EXPECT_CONTAINS(e, "tensor '" + kL + "0.mlp.down_proj.lora_A.weight' has shape [2, 8], expected [2, 24]");
  t = good_tensors();
  t[0].second.shape = {4, 8};  // rank 4 where the config says 2
  write_tensors(t);
  EXPECT_CONTAINS(error(), "q_proj.lora_A.weight' has shape [4, 8], expected [2, 8]");
}

TEST_F(LoraAdapterTest, BShapeThatDoesNotFit) {
  write_config(config());
  auto t = good_tensors();
  t[1].second.shape = {4, 2};  // q_proj B must be [n_heads * head_dim, r] = [8, 2]
  write_tensors(t);
  EXPECT_CONTAINS(error(), "q_proj.lora_B.weight' has shape [4, 2], expected [8, 2]");
  t = good_tensors();
  t[3].second.shape = {2, 8};  // transposed
  write_tensors(t);
  EXPECT_CONTAINS(error(), "down_proj.lora_B.weight' has shape [2, 8], expected [8, 2]");
  t[3].second.shape = {8, 2, 1};
  write_tensors(t);
  EXPECT_CONTAINS(error(), "has shape [8, 2, 1], expected [8, 2]");
}

TEST_F(LoraAdapterTest, NonFloatTensor) {
  write_config(config());
  auto t = good_tensors();
  t[0].second.dtype = "I64";
  write_tensors(t);
  EXPECT_CONTAINS(error(), "q_proj.lora_A.weight' has dtype");
}

TEST_F(LoraAdapterTest, LayerIndexOutOfRange) {
  const std::string e = error_with({{kL + "2.self_attn.q_proj.lora_A.weight", {{2, 8}}},
                                    {kL + "2.self_attn.q_proj.lora_B.weight", {{8, 2}}}});
  EXPECT_CONTAINS(e, "is for layer 2 but the base model has 2 layers");
}

TEST_F(LoraAdapterTest, OnlyAWithoutB) {
  write_config(config());
  auto t = good_tensors();
  t.erase(t.begin() + 1);  // layer 1 q_proj B
  write_tensors(t);
  EXPECT_CONTAINS(error(), "(lora_A of layer 1 q_proj) has no matching lora_B tensor");
}

TEST_F(LoraAdapterTest, OnlyBWithoutA) {
  write_config(config());
  auto t = good_tensors();
  t.erase(t.begin() + 2);  // layer 0 down_proj A
  write_tensors(t);
  EXPECT_CONTAINS(error(), "(lora_B of layer 0 down_proj) has no matching lora_A tensor");
}

TEST_F(LoraAdapterTest, SameTensorTwice) {
  const std::string e = error_with({{kL + "1.self_attn.q_proj.lora_A.default.weight", {{2, 8}}}});
  EXPECT_CONTAINS(e, "are both lora_A of layer 1 q_proj");
}

TEST_F(LoraAdapterTest, BadCheckpointFileNamesTheAdapter) {
  write_config(config());
  std::ofstream(spec_.checkpoint) << "not a checkpoint";
  EXPECT_CONTAINS(error(), "adapter 'style': ");
}

}  // namespace
}  // namespace pte
