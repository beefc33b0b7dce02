#include "exporter/export_model.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "exporter/adapter/lora_adapter.h"
#include "common/json_input.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/checkpoint/checkpoint_folder.h"
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

// The files a checkpoint argument stands for: the file; a folder's weights and config; an
// index's shards.
std::vector<SourceFile> checkpoint_files(const ExportOptions& o) {
  std::vector<SourceFile> files;
  std::string weights = o.checkpoint;
  if (is_folder(o.checkpoint)) {
    const CheckpointFolder f = inspect_checkpoint_folder(o.checkpoint);
    if (o.params.empty() && !f.config.empty()) files.push_back({"config", f.config});
    weights = f.weights;
  }
  files.push_back({"checkpoint", weights});
  if (weights.ends_with(".index.json")) {
    const nlohmann::json index = parse_untrusted_json(read_small_file(weights, 64u << 20), weights).value;
    std::set<std::string> shards;
    if (index.is_object() && index.contains("weight_map") && index["weight_map"].is_object())
      for (const auto& [tensor, shard] : index["weight_map"].items())
        if (shard.is_string()) shards.insert(shard.get<std::string>());
    const std::string dir = std::filesystem::path(weights).parent_path().string();
    for (const std::string& shard : shards)
      files.push_back({"checkpoint shard", (dir.empty() ? shard : dir + "/" + shard)});
  }
  return files;
}

// The tokenizer files: --tokenizer FILE, else those of a checkpoint folder (none otherwise).
TokenizerFiles tokenizer_files(const ExportOptions& o) {
  if (!o.tokenizer.empty()) return tokenizer_files_for(o.tokenizer);
  if (is_folder(o.checkpoint)) return pick_tokenizer_files(o.checkpoint);
  return {};
}

// Every input file, in the order read.
std::vector<SourceFile> source_files(const ExportOptions& o) {
  std::vector<SourceFile> files = checkpoint_files(o);
  if (!o.params.empty()) files.push_back({"params", o.params});
  for (const AdapterSpec& a : o.adapters) {
    files.push_back({"adapter " + a.name + " checkpoint", a.checkpoint});
    files.push_back({"adapter " + a.name + " config", a.config});
  }
  const TokenizerFiles t = tokenizer_files(o);
  if (!t.tokenizer.empty()) {
    files.push_back({"tokenizer", t.tokenizer});
    if (!t.tokenizer_config.empty()) files.push_back({"tokenizer_config", t.tokenizer_config});
    if (!t.generation_config.empty()) files.push_back({"generation_config", t.generation_config});
  }
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
  std::vector<std::string> inputs = {o.checkpoint};  // a folder stands for every file in it
  for (const SourceFile& f : source_files(o)) inputs.push_back(f.path);
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
  // After the readers, so that their errors (e.g. a shard the index lists but the folder lacks)
  // are the ones reported.
  SourceHashes hashes(source_files(o));  // hashed while the export runs
  const auto t_open = Clock::now();
  Program program = build_llama_program(params, *checkpoint, o, adapters);
  add_description(program, o, hashes);
  const auto t_build = Clock::now();
  report.passes = run_pipeline(program, o);
  program.metadata[meta::kExporterVersion] = TextValue{PTE_VERSION_STRING};
  program.metadata[meta::kExportFlags] = TextValue{export_flags_json(o)};
  const auto t_passes = Clock::now();
  report.pack = pack_program(program, checkpoints, output, threads, PTE_VERSION_STRING, progress, [&hashes] {
    return std::map<std::string, MetaValue>{{meta::kSourceFiles, TextValue{hashes.json()}}};
  });
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
