#include "exporter/tokenizer/tokenizer_metadata.h"

#include <algorithm>
#include <optional>

#include "common/error.h"
#include "common/json_input.h"
#include "schema/metadata_keys.h"
#include "tokenizers/tokenizer.h"

namespace pte {
namespace {

using nlohmann::json;

struct Config {
  std::string path;  // empty: absent
  json value = json::object();
  std::string text;
};

Config read_config(const std::string& path) {
  Config c;
  if (path.empty()) return c;
  c.path = path;
  c.text = read_small_file(path);
  c.value = parse_untrusted_json(c.text, path).value;
  if (!c.value.is_object()) throw Error(path + ": expected a JSON object");
  return c;
}

// The text of a tokenizer_config.json token field: "<s>" or {"content": "<s>", ...}; nullopt
// when absent or null.
std::optional<std::string> token_text(const Config& c, const char* field) {
  auto it = c.value.find(field);
  if (it == c.value.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  throw Error(c.path + ": '" + field + "' is " + it->dump().substr(0, 80) + ", expected a token text");
}

// A generation_config.json id field: an integer or (`many`) a list of them.
std::vector<int64_t> config_ids(const Config& c, const char* field, bool many) {
  auto it = c.value.find(field);
  if (it == c.value.end() || it->is_null()) return {};
  if (it->is_number_integer()) return {it->get<int64_t>()};
  std::vector<int64_t> ids;
  if (many && it->is_array())
    for (const json& v : *it) {
      if (!v.is_number_integer()) throw Error(c.path + ": '" + field + "' has a non-integer entry " + v.dump());
      ids.push_back(v.get<int64_t>());
    }
  if (ids.empty()) throw Error(c.path + ": '" + field + "' is " + it->dump() + ", expected " + (many ? "ids" : "an id"));
  return ids;
}

}  // namespace

std::vector<std::string> add_tokenizer_metadata(Program& program, const TokenizerFiles& files, int64_t vocab_size) {
  std::vector<std::string> notes;
  const std::string bytes = read_small_file(files.tokenizer, size_t{256} << 20);
  const tokenizers::TokenizerFormat format = tokenizers::detect_format(bytes, files.tokenizer);
  std::unique_ptr<tokenizers::Tokenizer> tok = tokenizers::load_tokenizer(format, bytes, files.tokenizer);
  if (static_cast<int64_t>(tok->vocab_size()) > vocab_size)
    throw Error(files.tokenizer + ": tokenizer has " + std::to_string(tok->vocab_size()) +
                " tokens but the model's vocabulary has " + std::to_string(vocab_size));
  const Config tc = read_config(files.tokenizer_config);
  const Config gc = read_config(files.generation_config);

  constexpr int64_t kNone = -1;
  // The id of a tokenizer_config.json token field, kNone when absent.
  auto id_of = [&](const Config& c, const char* field) -> int64_t {
    std::optional<std::string> text = token_text(c, field);
    if (!text) return kNone;
    std::optional<int32_t> id = tok->token_id(*text);
    if (!id) throw Error(c.path + ": '" + field + "' is '" + *text + "', which is not a token of " + files.tokenizer);
    return *id;
  };
  auto check = [&](int64_t id, const std::string& what) {
    if (id < 0 || id >= vocab_size)
      throw Error(what + " is " + std::to_string(id) + ", outside the model's vocabulary of " + std::to_string(vocab_size));
    return id;
  };

  const tokenizers::SpecialTokens own = tok->special_tokens();
  int64_t bos = own.bos.value_or(kNone);
  if (int64_t id = id_of(tc, "bos_token"); id != kNone) bos = id;
  if (auto ids = config_ids(gc, "bos_token_id", false); !ids.empty()) bos = ids[0];
  bool add_bos = own.bos.has_value();  // HF: its post-processor's template; others: the format's BOS
  if (auto it = tc.value.find("add_bos_token"); it != tc.value.end() && it->is_boolean()) add_bos = it->get<bool>();
  if (add_bos && bos == kNone) throw Error(files.tokenizer_config + ": add_bos_token is true but no BOS token is known");

  std::vector<int64_t> eos;
  for (int64_t id : config_ids(gc, "eos_token_id", true)) eos.push_back(id);
  if (int64_t id = id_of(tc, "eos_token"); id != kNone && std::find(eos.begin(), eos.end(), id) == eos.end())
    eos.push_back(id);
  if (eos.empty()) eos.assign(own.eos.begin(), own.eos.end());

  int64_t pad = own.pad.value_or(kNone);
  if (int64_t id = id_of(tc, "pad_token"); id != kNone) pad = id;
  if (auto ids = config_ids(gc, "pad_token_id", false); !ids.empty()) pad = ids[0];

  auto& meta = program.metadata;
  meta[meta::kTokenizerFile] =
      BytesTensor{DType::U8, {static_cast<int64_t>(bytes.size())}, std::vector<uint8_t>(bytes.begin(), bytes.end())};
  meta[meta::kTokenizerFormat] = TextValue{tokenizers::format_name(format)};
  if (bos != kNone) meta[meta::kBosTokenId] = int_scalar(check(bos, "the BOS id"));
  meta[meta::kAddBosToken] = int_scalar(add_bos ? 1 : 0);
  if (!eos.empty()) {
    for (int64_t id : eos) check(id, "an EOS id");
    meta[meta::kEosTokenId] = int_scalar(eos[0]);
    meta[meta::kEosTokenIds] = IntTensor{{static_cast<int64_t>(eos.size())}, eos};
  }
  if (pad != kNone) meta[meta::kPaddingTokenId] = int_scalar(check(pad, "the pad id"));
  if (auto it = tc.value.find("chat_template"); it != tc.value.end() && !it->is_null()) {
    if (!it->is_string())
      throw Error(files.tokenizer_config + ": 'chat_template' is not a string (named templates are not supported)");
    meta[meta::kChatTemplate] = TextValue{it->get<std::string>()};
  }
  if (!gc.path.empty()) meta[meta::kGenerationConfig] = TextValue{gc.text};

  std::string eos_text;
  for (int64_t id : eos) {
    if (!eos_text.empty()) eos_text.push_back(',');
    eos_text.append(std::to_string(id));
  }
  notes.push_back("tokenizer " + files.tokenizer + " (" + tokenizers::format_name(format) + ", " +
                  std::to_string(tok->vocab_size()) + " tokens): BOS " + (bos != kNone ? std::to_string(bos) : "none") +
                  (add_bos ? " added" : " not added") + ", EOS " + (eos.empty() ? "none" : eos_text) +
                  (tc.path.empty() ? "" : ", with " + tc.path) + (gc.path.empty() ? "" : ", with " + gc.path));
  return notes;
}

}  // namespace pte
