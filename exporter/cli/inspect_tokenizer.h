#pragma once
// `pte inspect`'s view of what a .pte says about text: its tokenizer metadata in readable
// lines, and --prompt (the ids the file's tokenizer gives a text).
#include <string>

#include <nlohmann/json.hpp>

#include "runtime-load/loaded_program.h"

namespace pte::cli {

// Prints a metadata entry that needs more than one line (chat template, source files,
// generation config); false for any other key.
bool print_description_metadata(const std::string& key, const nlohmann::ordered_json& value);

// {"text", "ids", "pieces"}: `prompt` encoded as `pte run --prompt` would (BOS per the file).
nlohmann::ordered_json prompt_tokens_json(const runtime::LoadedProgram& program, const std::string& prompt);

}  // namespace pte::cli
