#pragma once
// The export flags (SPEC §1), parsed and validated. Defaults are the reference's.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/dtype.h"

namespace pte {

struct EmbeddingQuantization {
  int bits = 8;
  int64_t group = 0;  // 0: one scale per row
};

enum class LinearQuantization { None, C4W, B4W };

struct AdapterSpec {
  std::string name, checkpoint, config;
};

struct ExportOptions {
  std::string checkpoint;
  std::string params;
  std::string output = "model.pte";
  int64_t max_context_len = 1024;
  int64_t input_len = 32;
  DType dtype = DType::F16;
  std::optional<EmbeddingQuantization> embedding_quantize = EmbeddingQuantization{};
  LinearQuantization linear_quantize = LinearQuantization::C4W;
  int64_t target_split_size = 1024;
  int64_t max_splits = 8;
  bool graph_breaks = true;
  int64_t blocks_per_piece = 0;  // 0: all blocks in one piece (the reference's three pieces)
  bool multifunction = false;
  std::vector<AdapterSpec> adapters;
  std::string tokenizer;  // packed into the file when given (with the configs beside it)
  int threads = 0;  // 0: all cores
  bool verbose = false;
};

// "8,0" / "4,32" / "none" -> quantization; throws pte::Error naming the flag otherwise.
std::optional<EmbeddingQuantization> parse_embedding_quantize(const std::string& text);
LinearQuantization parse_linear_quantize(const std::string& text);
const char* linear_quantize_name(LinearQuantization q);
std::string embedding_quantize_name(const std::optional<EmbeddingQuantization>& q);

// Range and consistency checks that need no checkpoint; throws pte::Error.
void validate_options(const ExportOptions& options);

}  // namespace pte
