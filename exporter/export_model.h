#pragma once
// The whole export, as `pte export` runs it: read params.json or config.json, the checkpoint and any adapters
// (each once), build the program, run the pass pipeline, stream it to options.output.
// `pte verify` uses it too, for its fp32 reference.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exporter/adapter/lora_adapter.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/model/model_description.h"
#include "exporter/packer/pack.h"
#include "exporter/program/export_options.h"
#include "exporter/program/program.h"

namespace pte {

struct ExportReport {
  PackReport pack;
  std::vector<std::string> warnings;  // params.json fields ignored, fp16 overflows
  std::vector<std::string> notes;     // how the checkpoint was read, what the builder decided
  std::vector<std::string> passes;    // "name: what it changed", in order
  double open_seconds = 0, build_seconds = 0, passes_seconds = 0, pack_seconds = 0, measure_seconds = 0;
};

// What --calibration measured (exporter/calibration/calibration.h).
struct Calibration {
  LinearImportances importances;  // by linear weight source tensor (--quant_search mse)
  LinearHessians hessians;        // by linear weight source tensor (--quant_search gptq)
  std::string sha256;             // of the calibration file, hex
  int64_t tokens = 0;
};

// The inputs of an export, opened and validated: the config (params.json or config.json), the
// checkpoint and the adapters, each read once and kept mapped.
struct OpenedModel {
  std::string config;  // the path of the config used
  ModelDescription params;
  std::unique_ptr<Checkpoint> checkpoint;
  std::vector<LoraAdapter> adapters;
  CheckpointSet checkpoints() const;
};

// Validates `options`, then opens what they name. Throws pte::Error for invalid options or input.
OpenedModel open_model(const ExportOptions& options);

// Called once the file is written, before it is committed, with a path it can be read from;
// returns the value of the quality report (meta::kQualityReport), which then replaces the
// placeholder the export reserved for it.
using MeasureQuality = std::function<std::string(const std::string& readable_path)>;

// Writes into `output` without committing it (the caller names it, or keeps it unnamed).
// `calibration` (when options.calibration is given) weights the scale search.
// Throws pte::Error for invalid options or input.
ExportReport export_model(const ExportOptions& options, int threads, OutputFile& output,
                          const PackProgress& progress = {}, const Calibration* calibration = nullptr,
                          const MeasureQuality& measure = {});

// The quality report's text as stored: `json` padded with spaces to meta::kQualityReportBytes
// (throws when longer).
std::string padded_quality_report(const std::string& json);

// Every file the export reads (checkpoint, params, adapters), for checked_output_path.
std::vector<std::string> export_inputs(const ExportOptions& options);

// The export flags as recorded in the file's `export_flags` metadata (JSON).
std::string export_flags_json(const ExportOptions& options);

}  // namespace pte
