#pragma once
// The export flags (SPEC §1), parsed and validated. Defaults are the reference's.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"
#include "exporter/adapter/adapter_spec.h"

namespace pte {

struct EmbeddingQuantization {
  int bits = 8;
  int64_t group = 0;  // 0: one scale per row
};

// C8W (8-bit, one scale per output row) is reached only through --quant overrides.
enum class LinearQuantization { None, C4W, B4W, C8W };

enum class QuantSearch { None, Mse, Gptq };  // --quant_search (scale_search.h, gptq.h)

// --quant PATTERN=MODE: linears whose Meta module name (`output`, `layers.0.attention.wq`)
// matches the glob PATTERN (`*` any run of characters, `?` one) get MODE; first match wins.
struct QuantOverride {
  std::string pattern;
  LinearQuantization mode;
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
  std::vector<QuantOverride> quant_overrides;
  QuantSearch quant_search = QuantSearch::None;
  std::string calibration;  // --calibration FILE (calibration.h); needs --quant_search mse or gptq
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
// "PATTERN=MODE" with MODE one of c4w, b4w, c8w, none.
QuantOverride parse_quant_override(const std::string& text);
QuantSearch parse_quant_search(const std::string& text);
const char* quant_search_name(QuantSearch s);
// Glob match over a whole name: `*` any run of characters (dots included), `?` one character.
bool glob_match(std::string_view pattern, std::string_view name);
std::string embedding_quantize_name(const std::optional<EmbeddingQuantization>& q);

// Documented bounds of the flags (README). Method I/O must also fit the format's tensor bound
// (schema/limits.h), which verify_program checks once the model's sizes are known.
constexpr int64_t kMaxInputLen = 4096;
constexpr int64_t kMaxContextLen = int64_t{1} << 20;
constexpr int64_t kMaxSplits = 1024;
constexpr int64_t kMaxThreads = 1024;

// Range and consistency checks that need no checkpoint; throws pte::Error.
void validate_options(const ExportOptions& options);

}  // namespace pte
