#pragma once
// Packs a tokenizer into the program's metadata (FORMAT.md §4.3): the tokenizer file's bytes
// as a blob with its format, the BOS id and whether to add it, the EOS ids, the pad id, the chat
// template verbatim and the generation defaults. The tokenizer is loaded first, so a bad file
// stops the export before anything is written.
#include <string>
#include <vector>

#include "exporter/program/program.h"
#include "exporter/tokenizer/tokenizer_files.h"

namespace pte {

// `vocab_size`: the model's; the tokenizer may have fewer ids (padded embeddings), not more.
// Returns notes for the export report (what was read, what was decided).
std::vector<std::string> add_tokenizer_metadata(Program& program, const TokenizerFiles& files, int64_t vocab_size);

}  // namespace pte
