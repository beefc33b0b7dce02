#include "exporter/program/export_options.h"

#include <charconv>

#include "common/error.h"

namespace pte {
namespace {

bool parse_int(const std::string& s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

std::optional<EmbeddingQuantization> parse_embedding_quantize(const std::string& text) {
  if (text == "none") return std::nullopt;
  size_t comma = text.find(',');
  int64_t bits = 0, group = 0;
  if (comma == std::string::npos || !parse_int(text.substr(0, comma), bits) ||
      !parse_int(text.substr(comma + 1), group))
    throw Error("-E/--embedding_quantize: expected '<bits>,<group>' (e.g. 8,0 or 4,32) or 'none', found '" + text + "'");
  if (bits != 4 && bits != 8)
    throw Error("-E/--embedding_quantize: bits must be 4 or 8, found " + std::to_string(bits));
  if (group < 0)
    throw Error("-E/--embedding_quantize: group must be 0 (per row) or positive, found " + std::to_string(group));
  return EmbeddingQuantization{static_cast<int>(bits), group};
}

LinearQuantization parse_linear_quantize(const std::string& text) {
  if (text == "none") return LinearQuantization::None;
  if (text == "c4w") return LinearQuantization::C4W;
  if (text == "b4w") return LinearQuantization::B4W;
  throw Error("--linear_quantize: expected c4w, b4w or none, found '" + text + "'");
}

QuantOverride parse_quant_override(const std::string& text) {
  const size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--quant: expected PATTERN=MODE (e.g. output=c8w or 'layers.0.*=none'), found '" + text + "'");
  const std::string mode = text.substr(eq + 1);
  QuantOverride o{text.substr(0, eq), LinearQuantization::None};
  if (mode == "c8w") o.mode = LinearQuantization::C8W;
  else if (mode == "c4w" || mode == "b4w" || mode == "none") o.mode = parse_linear_quantize(mode);
  else throw Error("--quant " + text + ": mode must be c4w, b4w, c8w or none, found '" + mode + "'");
  return o;
}

QuantSearch parse_quant_search(const std::string& text) {
  if (text == "none") return QuantSearch::None;
  if (text == "mse") return QuantSearch::Mse;
  if (text == "gptq") return QuantSearch::Gptq;
  throw Error("--quant_search: expected none, mse or gptq, found '" + text + "'");
}

const char* quant_search_name(QuantSearch s) {
  return s == QuantSearch::Mse ? "mse" : s == QuantSearch::Gptq ? "gptq" : "none";
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // Iterative matching with one backtrack point: the last `*` seen.
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const char* linear_quantize_name(LinearQuantization q) {
  switch (q) {
    case LinearQuantization::C4W: return "c4w";
    case LinearQuantization::B4W: return "b4w";
    case LinearQuantization::C8W: return "c8w";
    default: return "none";
  }
}

std::string embedding_quantize_name(const std::optional<EmbeddingQuantization>& q) {
  if (!q) return "none";
  return std::to_string(q->bits) + "," + std::to_string(q->group);
}

void validate_options(const ExportOptions& o) {
  auto in_range = [](const char* flag, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      throw Error(std::string(flag) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                  ", found " + std::to_string(v));
  };
  in_range("--input_len", o.input_len, 1, kMaxInputLen);
  in_range("--max_context_len", o.max_context_len, 2, kMaxContextLen);
  if (o.max_context_len <= o.input_len)
    throw Error("--max_context_len (" + std::to_string(o.max_context_len) +
                ") must be larger than --input_len (" + std::to_string(o.input_len) + ")");
  in_range("--max_splits", o.max_splits, 1, kMaxSplits);
  in_range("--threads", o.threads, 0, kMaxThreads);
  if (o.dtype != DType::F16 && o.dtype != DType::F32)
    throw Error(std::string("--dtype must be fp16 or fp32, found ") + dtype_name(o.dtype));
  if (o.target_split_size < 1) throw Error("--target_split_size must be at least 1");
  if (o.blocks_per_piece < 0) throw Error("--blocks_per_piece must be 0 (one piece for all blocks) or positive");
  if (!o.calibration.empty() && o.quant_search == QuantSearch::None)
    throw Error("--calibration weights the scale search's error; it needs --quant_search mse or gptq");
  if (o.quant_search == QuantSearch::Gptq && o.calibration.empty())
    throw Error("--quant_search gptq chooses codes from calibration statistics; it needs --calibration FILE");
  if (o.blocks_per_piece > 0 && !o.graph_breaks)
    throw Error("--blocks_per_piece cuts the blocks into pieces; it cannot be combined with --no_graph_breaks");
}

}  // namespace pte
