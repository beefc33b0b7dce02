#pragma once
// Every metadata key of a .pte (FORMAT.md §4), defined once for the exporter, the runtime and
// `pte inspect`. Keys that GGUF also defines use GGUF's name, so that a runtime author who knows
// GGUF recognises them.
namespace pte::meta {

// Runner layout (FORMAT.md §4.1).
inline constexpr const char* kVocabSize = "vocab_size";
inline constexpr const char* kHeadDim = "head_dim";
inline constexpr const char* kHeadsPerCache = "n_heads_per_cache";
inline constexpr const char* kFreqsCos = "freqs_cos";
inline constexpr const char* kFreqsSin = "freqs_sin";
inline constexpr const char* kFreqsCosInputIndex = "freqs_cos_input_index";
inline constexpr const char* kFreqsSinInputIndex = "freqs_sin_input_index";
inline constexpr const char* kMaskSpecs = "mask_specs";
inline constexpr const char* kKvCacheSpecs = "kv_cache_specs";
inline constexpr const char* kForwardInputLen = "forward_input_len";
inline constexpr const char* kDecodePrefix = "decode_";
inline constexpr const char* kPrefillPrefix = "prefill_";
inline constexpr const char* kInputLenSuffix = "input_len";  // decode_input_len, prefill_input_len
inline constexpr const char* kMethods = "methods";
inline constexpr const char* kMaxContextLen = "max_context_len";
inline constexpr const char* kLayers = "n_layers";
inline constexpr const char* kDtype = "dtype";
inline constexpr const char* kExporterVersion = "exporter_version";
inline constexpr const char* kExportFlags = "export_flags";
inline constexpr const char* kRopeScaling = "rope_scaling";  // Text: JSON, the Llama 3 constants used
inline constexpr const char* kBosId = "bos_id";              // from params.json bos_idx / config.json
inline constexpr const char* kEosIds = "eos_ids";            // IntTensor [n], from eos_idx / config.json

// Quality measured at export (FORMAT.md §4.5): Text, a JSON object padded with spaces to
// kQualityReportBytes (the container is sized before the file exists to be measured).
inline constexpr const char* kQualityReport = "quality.report";
inline constexpr size_t kQualityReportBytes = 1024;

// Model description and provenance (FORMAT.md §4.2).
inline constexpr const char* kName = "general.name";                  // Text
inline constexpr const char* kArchitecture = "general.architecture";  // Text: "llama"
inline constexpr const char* kSourceFiles = "general.source.files";   // Text: JSON array

// Tokenizer (FORMAT.md §4.3).
inline constexpr const char* kTokenizerFile = "tokenizer.file";          // BlobTensor uint8 [n]: the file's bytes
inline constexpr const char* kTokenizerFormat = "tokenizer.file_format";  // Text
inline constexpr const char* kBosTokenId = "tokenizer.ggml.bos_token_id";
inline constexpr const char* kAddBosToken = "tokenizer.ggml.add_bos_token";  // 0 or 1
inline constexpr const char* kEosTokenId = "tokenizer.ggml.eos_token_id";    // the first EOS
inline constexpr const char* kEosTokenIds = "tokenizer.eos_token_ids";       // IntTensor [n]: every EOS
inline constexpr const char* kPaddingTokenId = "tokenizer.ggml.padding_token_id";
inline constexpr const char* kChatTemplate = "tokenizer.chat_template";  // Text, verbatim
inline constexpr const char* kGenerationConfig = "generation.config";    // Text: JSON object

// Quantization choices beyond the reference's flags (FORMAT.md §4.4)
inline constexpr const char* kQuantizationPlan = "quantization.plan";  // Text: JSON object, module -> mode
inline constexpr const char* kCalibrationSha256 = "quantization.calibration.sha256";  // Text: hex
inline constexpr const char* kCalibrationTokens = "quantization.calibration.tokens";  // IntTensor scalar

}  // namespace pte::meta
