#pragma once
// Which files describe a model's tokenizer: the tokenizer itself (tokenizer.json, else
// tokenizer.model) and the Hugging Face configs beside it that say how to use it
// (tokenizer_config.json: special tokens, add_bos_token, chat_template; generation_config.json:
// BOS/EOS/pad ids and generation defaults).
#include <string>

namespace pte {

struct TokenizerFiles {
  std::string tokenizer;          // empty: none
  std::string tokenizer_config;   // empty: absent
  std::string generation_config;  // empty: absent
};

// The tokenizer files of a Hugging Face model folder (for `-c DIR`); `tokenizer` is empty when
// the folder has neither tokenizer.json nor tokenizer.model.
TokenizerFiles pick_tokenizer_files(const std::string& folder);

// `--tokenizer FILE`: FILE, with the tokenizer_config.json and generation_config.json of its
// folder when they exist.
TokenizerFiles tokenizer_files_for(const std::string& tokenizer_path);

}  // namespace pte
