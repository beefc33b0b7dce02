#include "exporter/export_model.h"

#include <sys/stat.h>

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "exporter/adapter/lora_adapter.h"
#include "common/error.h"
#include "common/regular_file.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/model/model_files.h"
#include "exporter/program/llama_builder.h"
#include "exporter/provenance/provenance.h"
#include "exporter/tokenizer/tokenizer_files.h"
#include "exporter/tokenizer/tokenizer_metadata.h"
#include "exporter/version.h"
#include "passes/pipeline.h"
#include "schema/metadata_keys.h"

namespace pte {

std::string export_flags_json(const ExportOptions& o) {
  nlohmann::ordered_json j;
  j["checkpoint"] = o.checkpoint;
  j["params"] = o.params;  // "" when the checkpoint folder's config was used
  j["max_context_len"] = o.max_context_len;
  j["input_len"] = o.input_len;
  j["dtype"] = dtype_name(o.dtype);
  j["embedding_quantize"] = embedding_quantize_name(o.embedding_quantize);
  j["linear_quantize"] = linear_quantize_name(o.linear_quantize);
  // Flags the reference does not have, recorded only when given (default files stay as they were).
  if (!o.quant_overrides.empty()) {
    j["quant"] = nlohmann::ordered_json::array();
    for (const QuantOverride& q : o.quant_overrides)
      j["quant"].push_back(q.pattern + "=" + linear_quantize_name(q.mode));
  }
  if (o.quant_search != QuantSearch::None) j["quant_search"] = quant_search_name(o.quant_search);
  if (!o.calibration.empty()) j["calibration"] = o.calibration;
  j["target_split_size"] = o.target_split_size;
  j["max_splits"] = o.max_splits;
  j["no_graph_breaks"] = !o.graph_breaks;
  j["blocks_per_piece"] = o.blocks_per_piece;
  j["multifunction"] = o.multifunction;
  j["adapters"] = nlohmann::ordered_json::array();
  for (const AdapterSpec& a : o.adapters)
    j["adapters"].push_back({{"name", a.name}, {"checkpoint", a.checkpoint}, {"config", a.config}});
  j["tokenizer"] = o.tokenizer.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.tokenizer);
  return j.dump();
}

namespace {

bool is_folder(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The tokenizer files: --tokenizer FILE, else those of a checkpoint folder (none otherwise).
TokenizerFiles tokenizer_files(const ExportOptions& o) {
  if (!o.tokenizer.empty()) return tokenizer_files_for(o.tokenizer);
  if (is_folder(o.checkpoint)) return pick_tokenizer_files(o.checkpoint);
  return {};
}

// Every input file, in the order read: the checkpoint's files (an index and its shards), the
// config it was described by, the adapters', the tokenizer's.
std::vector<SourceFile> source_files(const ExportOptions& o, const Checkpoint& checkpoint, const std::string& config) {
  std::vector<SourceFile> files;
  for (const std::string& path : checkpoint.files())
    files.push_back({files.empty() ? "checkpoint" : "checkpoint shard", path});
  files.push_back({o.params.empty() ? "config" : "params", config});
  for (const AdapterSpec& a : o.adapters) {
    files.push_back({"adapter " + a.name + " checkpoint", a.checkpoint});
    files.push_back({"adapter " + a.name + " config", a.config});
  }
  const TokenizerFiles t = tokenizer_files(o);
  for (const auto& [role, path] : {std::pair<const char*, const std::string&>{"tokenizer", t.tokenizer},
                                   {"tokenizer_config", t.tokenizer_config},
                                   {"generation_config", t.generation_config}})
    if (!path.empty()) files.push_back({role, path});
  return files;
}

// The tokenizer (when there is one) and the provenance of every input file.
void add_description(Program& program, const ExportOptions& o, const SourceHashes& hashes) {
  const TokenizerFiles t = tokenizer_files(o);
  if (!t.tokenizer.empty()) {
    const int64_t vocab = std::get<IntTensor>(program.metadata.at(meta::kVocabSize)).values.at(0);
    for (std::string& note : add_tokenizer_metadata(program, t, vocab)) program.log.push_back(std::move(note));
  }
  add_provenance(program, model_name_of(o.checkpoint), hashes);
}

}  // namespace

std::vector<std::string> export_inputs(const ExportOptions& o) {
  // A folder stands for every file in it, and an index for its folder (the shards are there).
  std::vector<std::string> inputs = {o.checkpoint, o.params};
  if (o.checkpoint.ends_with(".index.json")) inputs.push_back(folder_of(o.checkpoint));
  for (const AdapterSpec& a : o.adapters) {
    inputs.push_back(a.checkpoint);
    inputs.push_back(a.config);
  }
  inputs.push_back(o.calibration);
  const TokenizerFiles t = tokenizer_files(o);
  for (const std::string& path : {t.tokenizer, t.tokenizer_config, t.generation_config}) inputs.push_back(path);
  return inputs;
}

CheckpointSet OpenedModel::checkpoints() const {
  CheckpointSet set{checkpoint.get(), {}};
  for (const LoraAdapter& a : adapters) set.adapters[a.name] = a.checkpoint.get();
  return set;
}

OpenedModel open_model(const ExportOptions& o) {
  validate_options(o);
  validate_adapter_names(o.adapters, o.multifunction);
  OpenedModel m;
  m.config = find_model_config(o.checkpoint, o.params);
  m.params = read_model_description(m.config, o.max_context_len);
  m.checkpoint = open_checkpoint(o.checkpoint);
  for (const AdapterSpec& spec : o.adapters) m.adapters.push_back(read_lora_adapter(spec, m.params));
  return m;
}

std::string padded_quality_report(const std::string& json) {
  if (json.size() > meta::kQualityReportBytes)
    throw Error("internal: the quality report has " + std::to_string(json.size()) + " bytes, more than " +
                std::to_string(meta::kQualityReportBytes));
  return json + std::string(meta::kQualityReportBytes - json.size(), ' ');
}

ExportReport export_model(const ExportOptions& o, int threads, OutputFile& output, const PackProgress& progress,
                          const Calibration* calibration, const MeasureQuality& measure) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  ExportReport report;
  const auto t0 = Clock::now();
  OpenedModel model = open_model(o);
  const ModelDescription& params = model.params;
  const std::unique_ptr<Checkpoint>& checkpoint = model.checkpoint;
  const CheckpointSet checkpoints = model.checkpoints();
  // After the readers, so that their errors (e.g. a shard the index lists but the folder lacks)
  // are the ones reported.
  SourceHashes hashes(source_files(o, *checkpoint, model.config));  // hashed while the export runs
  const auto t_open = Clock::now();
  Program program = build_llama_program(params, *checkpoint, o, model.adapters);
  add_description(program, o, hashes);
  if (!o.calibration.empty()) {
    if (!calibration) throw Error("internal: --calibration given but not run");
    program.importances = calibration->importances;
    program.hessians = calibration->hessians;
    program.metadata[meta::kCalibrationSha256] = TextValue{calibration->sha256};
    program.metadata[meta::kCalibrationTokens] = int_scalar(calibration->tokens);
  }
  const auto t_build = Clock::now();
  report.passes = run_pipeline(program, o);
  program.metadata[meta::kExporterVersion] = TextValue{PTE_VERSION_STRING};
  program.metadata[meta::kExportFlags] = TextValue{export_flags_json(o)};
  if (measure) program.metadata[meta::kQualityReport] = TextValue{padded_quality_report("{}")};
  const auto t_passes = Clock::now();
  report.pack = pack_program(program, checkpoints, output, threads, PTE_VERSION_STRING, progress, [&hashes] {
    return std::map<std::string, MetaValue>{{meta::kSourceFiles, TextValue{hashes.json()}}};
  });
  const auto t_end = Clock::now();
  if (measure) {
    const std::string value = padded_quality_report(measure(output.readable_path()));
    restamp_metadata(program, report.pack, {{meta::kQualityReport, TextValue{value}}}, output, PTE_VERSION_STRING);
    report.measure_seconds = seconds(t_end, Clock::now());
  }

  report.warnings = params.warnings;
  if (report.pack.fp16_overflows)
    report.warnings.push_back(std::to_string(report.pack.fp16_overflows) +
                              " weight value(s) overflowed fp16 and became inf");
  report.notes = params.notes;
  report.notes.insert(report.notes.end(), checkpoint->notes().begin(), checkpoint->notes().end());
  report.notes.insert(report.notes.end(), program.log.begin(), program.log.end());
  report.open_seconds = seconds(t0, t_open);
  report.build_seconds = seconds(t_open, t_build);
  report.passes_seconds = seconds(t_build, t_passes);
  report.pack_seconds = seconds(t_passes, t_end);
  return report;
}

}  // namespace pte
