#include "tokenizers/hf_tokenizer.h"

#include <memory>

#include "common/error.h"
#include "common/json_input.h"
#include "tokenizers/byte_tokens.h"
#include "tokenizers/hf_fields.h"
#include "tokenizers/special_split.h"
#include "tokenizers/utf8.h"

namespace pte::tokenizers {
namespace {

const nlohmann::json& field_or_null(const nlohmann::json& j, const char* field) {
  static const nlohmann::json null;
  auto it = j.find(field);
  return it == j.end() ? null : *it;
}

nlohmann::json parse_root(std::string_view bytes, const std::string& source) {
  nlohmann::json root = parse_untrusted_json(bytes, source).value;
  if (!root.is_object()) throw Error(source + ": expected a tokenizer.json object at the top level");
  return root;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

HfTokenizer::HfTokenizer(std::string_view bytes, const std::string& source)
    : HfTokenizer(std::make_unique<nlohmann::json>(parse_root(bytes, source)).get(), source) {}

HfTokenizer::HfTokenizer(const nlohmann::json* parsed, const std::string& source)
    : source_(source),
      normalizer_(field_or_null(*parsed, "normalizer"), source),
      pre_tokenizer_(field_or_null(*parsed, "pre_tokenizer"), source),
      decoder_(field_or_null(*parsed, "decoder"), source) {
  const nlohmann::json& root = *parsed;
  if (!root.contains("model")) throw Error(source + ": tokenizer.json has no 'model'");
  if (!field_or_null(root, "truncation").is_null())
    throw Error(source + ": 'truncation' is set; truncating prompts is not supported (expected null)");
  // Ids index a table: they must be dense (below the number of tokens the file defines), so
  // that a stray huge id cannot make it allocate gigabytes.
  const nlohmann::json& added = field_or_null(root, "added_tokens");
  const nlohmann::json& model = root["model"];
  id_limit_ = (model.is_object() && model.contains("vocab") && model["vocab"].is_object() ? model["vocab"].size() : 0) +
              (added.is_array() ? added.size() : 0);
  read_model(model);
  read_added_tokens(added);
  read_post_processor(field_or_null(root, "post_processor"));
}

void HfTokenizer::read_model(const nlohmann::json& model) {
  const std::string type = component_type(model, source_ + ": model");
  HfFields f{model, source_ + ": model " + type};
  if (type != "BPE") f.fail("model type '" + type + "' is not supported (supported: BPE)");
  if (!model.contains("vocab") || !model["vocab"].is_object()) f.fail("expected an object 'vocab'");
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (int64_t{1} << 31))
      f.fail("vocab entry '" + token + "' has id " + id.dump() + ", expected a non-negative 32-bit integer");
    const auto i = static_cast<int32_t>(id.get<int64_t>());
    if (static_cast<size_t>(i) >= id_limit_)
      f.fail("vocab entry '" + token + "' has id " + id.dump() + ", but the file defines only " +
             std::to_string(id_limit_) + " tokens (ids must be below that)");
    if (static_cast<size_t>(i) >= tokens_.size()) {
      tokens_.resize(static_cast<size_t>(i) + 1);
      has_token_.resize(static_cast<size_t>(i) + 1, false);
    }
    if (has_token_[i]) f.fail("vocab id " + std::to_string(i) + " is given to both '" + tokens_[i] + "' and '" + token + "'");
    tokens_[i] = token;
    has_token_[i] = true;
    vocab_.emplace(token, i);
  }
  for (const char* unsupported : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const nlohmann::json& v = field_or_null(model, unsupported);
    if (!v.is_null() && !(v.is_string() && v.get<std::string>().empty()))
      f.fail(std::string("'") + unsupported + "' is not supported (expected null)");
  }
  const nlohmann::json& dropout = field_or_null(model, "dropout");
  if (!dropout.is_null() && !(dropout.is_number() && dropout.get<double>() == 0))
    f.fail("'dropout' " + dropout.dump() + " is not supported (encoding must be deterministic)");
  byte_fallback_ = f.boolean("byte_fallback", false);
  fuse_unk_ = f.boolean("fuse_unk", false);
  ignore_merges_ = f.boolean("ignore_merges", false);
  const nlohmann::json& unk = field_or_null(model, "unk_token");
  if (!unk.is_null()) {
    auto it = unk.is_string() ? vocab_.find(unk.get<std::string>()) : vocab_.end();
    if (it == vocab_.end()) f.fail("unk_token " + unk.dump() + " is not in the vocabulary");
    unk_ = it->second;
  }
  if (!model.contains("merges") || !model["merges"].is_array()) f.fail("expected an array 'merges'");
  const nlohmann::json& merges = model["merges"];
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const nlohmann::json& m = merges[rank];
    std::string left, right;
    if (m.is_string()) {  // "left right"
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        f.fail("merge " + std::to_string(rank) + " is " + m.dump() + ", expected two tokens separated by one space");
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      f.fail("merge " + std::to_string(rank) + " is " + m.dump().substr(0, 80) + ", expected \"a b\" or [\"a\", \"b\"]");
    }
    auto id_of = [&](const std::string& token) {
      auto it = vocab_.find(token);
      if (it == vocab_.end())
        f.fail("merge " + std::to_string(rank) + " " + m.dump() + " names '" + token + "', which is not in the vocabulary");
      return it->second;
    };
    const int32_t l = id_of(left), r = id_of(right), result = id_of(left + right);
    merges_.emplace((static_cast<uint64_t>(l) << 32) | static_cast<uint32_t>(r), Merge{static_cast<uint32_t>(rank), result});
  }
}

void HfTokenizer::read_added_tokens(const nlohmann::json& list) {
  if (list.is_null()) return;
  if (!list.is_array()) throw Error(source_ + ": expected an array 'added_tokens'");
  for (const nlohmann::json& t : list) {
    HfFields f{t, source_ + ": added_tokens"};
    const std::string content = f.string("content");
    f.where += " '" + content + "'";
    const int64_t id = f.integer("id", -1);
    if (id < 0 || id >= (int64_t{1} << 31)) f.fail("expected a non-negative 32-bit 'id'");
    if (f.boolean("single_word", false)) f.fail("single_word is not supported");
    if (f.boolean("normalized", false) && !normalizer_.empty())
      f.fail("normalized added tokens are not supported with a normalizer");
    const auto i = static_cast<size_t>(id);
    if (i >= id_limit_)
      f.fail("has id " + std::to_string(id) + ", but the file defines only " + std::to_string(id_limit_) +
             " tokens (ids must be below that)");
    if (i >= tokens_.size()) {
      tokens_.resize(i + 1);
      has_token_.resize(i + 1, false);
    }
    if (has_token_[i] && tokens_[i] != content)
      f.fail("id " + std::to_string(id) + " is already the token '" + tokens_[i] + "'");
    tokens_[i] = content;
    has_token_[i] = true;
    added_.push_back({static_cast<int32_t>(id), content, f.boolean("lstrip", false), f.boolean("rstrip", false)});
    added_contents_.push_back(content);
  }
}

void HfTokenizer::read_post_processor(const nlohmann::json& config) {
  if (config.is_null()) return;
  const std::string type = component_type(config, source_ + ": post_processor");
  HfFields f{config, source_ + ": post_processor " + type};
  if (type == "Sequence") {
    if (!config.contains("processors") || !config["processors"].is_array()) f.fail("expected an array 'processors'");
    for (const nlohmann::json& p : config["processors"]) read_post_processor(p);
  } else if (type == "TemplateProcessing") {
    const nlohmann::json& single = field_or_null(config, "single");
    if (!single.is_array()) f.fail("expected an array 'single'");
    for (const nlohmann::json& piece : single) {
      if (piece.contains("Sequence")) break;  // $A: what comes before it is the prefix
      const nlohmann::json& special = field_or_null(piece, "SpecialToken");
      if (!special.is_object() || !special.contains("id") || !special["id"].is_string())
        f.fail("expected SpecialToken or Sequence entries in 'single', found " + piece.dump().substr(0, 80));
      const std::string name = special["id"].get<std::string>();
      const nlohmann::json& specials = field_or_null(config, "special_tokens");
      const nlohmann::json& entry = specials.is_object() ? field_or_null(specials, name.c_str()) : specials;
      const nlohmann::json& ids = entry.is_object() ? field_or_null(entry, "ids") : entry;
      if (!ids.is_array() || ids.size() != 1 || !ids[0].is_number_integer())
        f.fail("special token '" + name + "' of the template needs exactly one id in 'special_tokens'");
      if (bos_) f.fail("the template starts with more than one special token; only a single BOS is supported");
      bos_ = static_cast<int32_t>(ids[0].get<int64_t>());
    }
  } else if (type != "ByteLevel") {
    f.fail("post-processor type '" + type + "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
  }
}

void HfTokenizer::encode_piece(const std::string& piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_)
    if (auto it = vocab_.find(piece); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  std::vector<int32_t> symbols;
  bool previous_unk = false;
  for (size_t pos = 0; pos < piece.size();) {
    const size_t n = char_length(piece, pos);
    const std::string c = piece.substr(pos, n);
    pos += n;
    if (auto it = vocab_.find(c); it != vocab_.end()) {
      symbols.push_back(it->second);
      previous_unk = false;
      continue;
    }
    if (byte_fallback_) {
      std::vector<int32_t> bytes;
      for (unsigned char b : c)
        if (auto it = vocab_.find(byte_token(b)); it != vocab_.end()) bytes.push_back(it->second);
      if (bytes.size() == c.size()) {
        symbols.insert(symbols.end(), bytes.begin(), bytes.end());
        previous_unk = false;
        continue;
      }
    }
    if (unk_ < 0)
      throw Error(source_ + ": the text '" + c + "' has no token, no byte-fallback tokens and the model has no unk_token");
    if (!(fuse_unk_ && previous_unk)) symbols.push_back(unk_);
    previous_unk = true;
  }
  auto merge = [this](int32_t l, int32_t r) -> std::optional<Merge> {
    auto it = merges_.find((static_cast<uint64_t>(l) << 32) | static_cast<uint32_t>(r));
    return it == merges_.end() ? std::nullopt : std::optional<Merge>(it->second);
  };
  for (int32_t id : bpe_merge(std::move(symbols), merge)) out.push_back(id);
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text) const {
  check_utf8(text, source_);
  std::vector<SpecialSplit> sections = split_on_specials(text, added_contents_);
  // lstrip/rstrip: an added token takes the white space on its left/right with it.
  for (size_t i = 0; i < sections.size(); ++i) {
    if (sections[i].special < 0) continue;
    const AddedToken& t = added_[sections[i].special];
    if (t.lstrip && i > 0 && sections[i - 1].special < 0) {
      std::string_view& s = sections[i - 1].text;
      while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    }
    if (t.rstrip && i + 1 < sections.size() && sections[i + 1].special < 0) {
      std::string_view& s = sections[i + 1].text;
      while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    }
  }
  std::vector<int32_t> out;
  for (const SpecialSplit& s : sections) {
    if (s.special >= 0) {
      out.push_back(added_[s.special].id);
      continue;
    }
    if (s.text.empty()) continue;
    const std::string normalized = normalizer_.normalize(std::string(s.text));
    for (const std::string& piece : pre_tokenizer_.split(normalized, s.text.data() == text.data()))
      encode_piece(piece, out);
  }
  return out;
}

std::string HfTokenizer::decode(std::span<const int32_t> ids) const {
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !has_token_[id])
      throw Error(source_ + ": token id " + std::to_string(id) + " is not in the vocabulary");
    tokens.push_back(tokens_[id]);
  }
  return decoder_.decode(std::move(tokens));
}

std::optional<int32_t> HfTokenizer::token_id(std::string_view token) const {
  for (const AddedToken& t : added_)
    if (t.content == token) return t.id;
  if (auto it = vocab_.find(std::string(token)); it != vocab_.end()) return it->second;
  return std::nullopt;
}

}  // namespace pte::tokenizers
