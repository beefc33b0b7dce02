#pragma once
// The tokenizer a .pte carries (FORMAT.md §4.3), or one given on the command line instead, with
// the file's rules for using it: the BOS id and whether to add it, and the EOS ids that end
// generation. Without tokenizer metadata the tokenizer format's own BOS/EOS apply.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime-load/loaded_program.h"
#include "tokenizers/tokenizer.h"

namespace pte::runtime {

struct FileTokenizer {
  std::unique_ptr<tokenizers::Tokenizer> tokenizer;
  std::string source;  // "<file>: tokenizer.file" or the --tokenizer path
  std::optional<int32_t> bos;
  bool add_bos = true;
  std::vector<int32_t> eos;

  // The prompt's ids: BOS (when the file says so and `no_bos` is false), then the text's.
  std::vector<int32_t> encode_prompt(std::string_view text, bool no_bos) const;
  // The ids whose text a runner shows: a leading BOS is left out, except for llama2.c, whose
  // decode needs it (it drops BOS and the space after it).
  std::span<const int32_t> shown(std::span<const int32_t> ids) const;
};

// `override_path` (non-empty) wins over the file's own tokenizer; nullopt when there is
// neither. Throws pte::Error when the tokenizer does not fit the file's vocabulary.
std::optional<FileTokenizer> open_tokenizer(const LoadedProgram& program, const std::string& override_path,
                                            int64_t vocab_size);

// The EOS ids the file declares (empty without tokenizer metadata).
std::vector<int32_t> file_eos_ids(const LoadedProgram& program);

}  // namespace pte::runtime
