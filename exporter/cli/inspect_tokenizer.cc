#include "exporter/cli/inspect_tokenizer.h"

#include <cstdio>

#include "common/error.h"
#include "exporter/cli/human_bytes.h"
#include "runner/file_tokenizer.h"
#include "schema/metadata_keys.h"

namespace pte::cli {

bool print_description_metadata(const std::string& key, const nlohmann::ordered_json& value) {
  if (!value.is_string()) return false;
  const std::string text = value.get<std::string>();
  if (key == meta::kChatTemplate) {
    std::printf("  %-24s %zu characters, stored verbatim (a Jinja template; pte run does not render it)\n",
                key.c_str(), text.size());
    return true;
  }
  if (key == meta::kGenerationConfig) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    std::printf("  %-24s %s\n", key.c_str(), j.is_discarded() ? text.c_str() : j.dump().c_str());
    return true;
  }
  if (key == meta::kSourceFiles) {
    nlohmann::json list = nlohmann::json::parse(text, nullptr, false);
    if (!list.is_array()) return false;
    std::printf("  %-24s %zu file%s:\n", key.c_str(), list.size(), list.size() == 1 ? "" : "s");
    for (const nlohmann::json& f : list) {
      if (!f.is_object()) continue;
      std::printf("    %-22s %s, %s, sha256 %s\n", f.value("role", std::string("?")).c_str(),
                  f.value("path", std::string("?")).c_str(), human_bytes(f.value("size", uint64_t{0})).c_str(),
                  f.value("sha256", std::string("?")).c_str());
    }
    return true;
  }
  return false;
}

nlohmann::ordered_json prompt_tokens_json(const runtime::LoadedProgram& program, const std::string& prompt) {
  const int64_t vocab = program.has_metadata(meta::kVocabSize) ? program.metadata_int(meta::kVocabSize) : INT64_MAX;
  std::optional<runtime::FileTokenizer> text = runtime::open_tokenizer(program, "", vocab);
  if (!text) throw Error("--prompt: " + program.path() + " carries no tokenizer");
  std::vector<int32_t> ids = text->encode_prompt(prompt, false);
  nlohmann::ordered_json pieces = nlohmann::ordered_json::array();
  for (int32_t id : ids) pieces.push_back(text->tokenizer->decode(std::span<const int32_t>(&id, 1)));
  return {{"text", prompt}, {"ids", ids}, {"pieces", pieces}};
}

}  // namespace pte::cli
