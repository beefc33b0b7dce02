#include "runner/file_tokenizer.h"

#include "common/error.h"
#include "schema/metadata_keys.h"

namespace pte::runtime {

std::vector<int32_t> FileTokenizer::encode_prompt(std::string_view text, bool no_bos) const {
  std::vector<int32_t> ids;
  if (add_bos && !no_bos && bos) ids.push_back(*bos);
  std::vector<int32_t> body = tokenizer->encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::span<const int32_t> FileTokenizer::shown(std::span<const int32_t> ids) const {
  if (tokenizer->format() != tokenizers::TokenizerFormat::Llama2c && bos && !ids.empty() && ids[0] == *bos)
    return ids.subspan(1);
  return ids;
}

std::vector<int32_t> file_eos_ids(const LoadedProgram& program) {
  std::vector<int32_t> out;
  // The tokenizer's list, else the model config's (params.json eos_idx, config.json eos_token_id).
  const char* key = program.has_metadata(meta::kEosTokenIds) ? meta::kEosTokenIds
                    : program.has_metadata(meta::kEosIds)    ? meta::kEosIds
                                                             : nullptr;
  if (key)
    for (int64_t id : program.metadata_int_tensor(key).values) out.push_back(static_cast<int32_t>(id));
  return out;
}

std::optional<FileTokenizer> open_tokenizer(const LoadedProgram& program, const std::string& override_path,
                                            int64_t vocab_size) {
  FileTokenizer t;
  if (!override_path.empty()) {
    t.tokenizer = tokenizers::load_tokenizer_file(override_path);
    t.source = override_path;
  } else if (const fb::MetaEntry* e = program.find_metadata(meta::kTokenizerFile)) {
    t.source = program.path() + ": metadata '" + meta::kTokenizerFile + "'";
    const fb::BlobTensor* blob = e->value_as_BlobTensor();
    if (!blob) program.fail(std::string("metadata '") + meta::kTokenizerFile + "' is not a BlobTensor");
    const std::string format_text = program.metadata_text(meta::kTokenizerFormat);
    auto format = tokenizers::format_from_name(format_text);
    if (!format) program.fail(std::string("metadata '") + meta::kTokenizerFormat + "' is '" + format_text +
                              "', not a known tokenizer format");
    std::span<const uint8_t> bytes = program.blob_bytes(view(blob->blob()));
    t.tokenizer = tokenizers::load_tokenizer(
        *format, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), t.source);
  } else {
    return std::nullopt;
  }
  if (static_cast<int64_t>(t.tokenizer->vocab_size()) > vocab_size)
    throw Error(t.source + ": tokenizer has " + std::to_string(t.tokenizer->vocab_size()) + " tokens but " +
                program.path() + " has vocab_size " + std::to_string(vocab_size));

  const tokenizers::SpecialTokens own = t.tokenizer->special_tokens();
  t.bos = own.bos;
  t.eos = own.eos;
  if (program.has_metadata(meta::kTokenizerFormat)) {  // the file's word wins over the format's
    t.bos = program.has_metadata(meta::kBosTokenId)
                ? std::optional<int32_t>(static_cast<int32_t>(program.metadata_int(meta::kBosTokenId)))
                : std::nullopt;
    t.add_bos = !program.has_metadata(meta::kAddBosToken) || program.metadata_int(meta::kAddBosToken) != 0;
    t.eos = file_eos_ids(program);
  }
  return t;
}

}  // namespace pte::runtime
