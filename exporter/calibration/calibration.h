#pragma once
// `--calibration FILE`: the float model runs on the file's tokens (on the runtime's reference
// executor) and, for every linear input, statistics over those tokens are collected, never the
// activations themselves: with --quant_search mse the mean square of each channel (the scale
// search weights each column's squared error by it, scale_search.h); with gptq the block-diagonal
// Σ x xᵀ (gptq.h), 8 × kGptqBlock bytes per input channel. Linears reading the same input share.
//   FILE ending in `.ids`: token ids, decimal, separated by whitespace or commas.
//   any other FILE: UTF-8 text, encoded with the tokenizer the export packs (--tokenizer, or the
//   checkpoint folder's), with the tokenizer's BOS first when it has one.
// The tokens run in windows of kCalibrationWindow from an empty cache, kCalibrationChunk per call.
#include <cstdint>
#include <string>
#include <vector>

#include "exporter/export_model.h"

namespace pte {

inline constexpr int64_t kCalibrationWindow = 256;
inline constexpr int64_t kCalibrationChunk = 64;
inline constexpr int64_t kMaxCalibrationTokens = 1 << 16;

// The tokens of calibration file `path` holding `bytes` (see above); `tokenizer` is the tokenizer
// file ("" when there is none).
std::vector<int32_t> calibration_tokens(const std::string& path, const std::string& bytes, const std::string& tokenizer);

// Runs the float model of `o` on o.calibration's tokens.
Calibration calibrate(const ExportOptions& o, int threads);

}  // namespace pte
