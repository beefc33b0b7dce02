#include "exporter/export_model.h"

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include "exporter/adapter/lora_adapter.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/model/model_files.h"
#include "exporter/program/llama_builder.h"
#include "exporter/version.h"
#include "passes/pipeline.h"

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
  j["target_split_size"] = o.target_split_size;
  j["max_splits"] = o.max_splits;
  j["no_graph_breaks"] = !o.graph_breaks;
  j["blocks_per_piece"] = o.blocks_per_piece;
  j["multifunction"] = o.multifunction;
  j["adapters"] = nlohmann::ordered_json::array();
  for (const AdapterSpec& a : o.adapters)
    j["adapters"].push_back({{"name", a.name}, {"checkpoint", a.checkpoint}, {"config", a.config}});
  return j.dump();
}

std::vector<std::string> export_inputs(const ExportOptions& o) {
  std::vector<std::string> inputs = {o.checkpoint, o.params};
  for (const AdapterSpec& a : o.adapters) {
    inputs.push_back(a.checkpoint);
    inputs.push_back(a.config);
  }
  return inputs;
}

ExportReport export_model(const ExportOptions& o, int threads, OutputFile& output, const PackProgress& progress) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  validate_options(o);
  validate_adapter_names(o.adapters, o.multifunction);
  ExportReport report;
  const auto t0 = Clock::now();
  const std::string config = find_model_config(o.checkpoint, o.params);
  ModelDescription params = read_model_description(config, o.max_context_len);
  std::unique_ptr<Checkpoint> checkpoint = open_checkpoint(o.checkpoint);
  std::vector<LoraAdapter> adapters;
  CheckpointSet checkpoints{checkpoint.get(), {}};
  for (const AdapterSpec& spec : o.adapters) {
    adapters.push_back(read_lora_adapter(spec, params));
    checkpoints.adapters[spec.name] = adapters.back().checkpoint.get();
  }
  const auto t_open = Clock::now();
  Program program = build_llama_program(params, *checkpoint, o, adapters);
  const auto t_build = Clock::now();
  report.passes = run_pipeline(program, o);
  program.metadata["exporter_version"] = TextValue{PTE_VERSION_STRING};
  program.metadata["export_flags"] = TextValue{export_flags_json(o)};
  const auto t_passes = Clock::now();
  report.pack = pack_program(program, checkpoints, output, threads, PTE_VERSION_STRING, progress);
  const auto t_end = Clock::now();

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
