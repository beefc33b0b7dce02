// `pte export`: checkpoint + params.json -> .pte, with the reference's flags (SPEC §1).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "exporter/adapter/lora_adapter.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/checkpoint/model_params.h"
#include "exporter/cli/commands.h"
#include "exporter/cli/human_bytes.h"
#include "exporter/cli/progress_bar.h"
#include "exporter/cli/version.h"
#include "exporter/packer/pack.h"
#include "exporter/program/export_options.h"
#include "exporter/program/llama_builder.h"
#include "passes/pipeline.h"

namespace pte::cli {
namespace {

struct ExportArgs {
  ExportOptions options;
  std::string dtype = "fp16";
  std::string embedding_quantize = "8,0";
  std::string linear_quantize = "c4w";
  bool no_graph_breaks = false;
  std::vector<std::string> adapter_words;
};

std::string export_flags_json(const ExportOptions& o) {
  nlohmann::ordered_json j;
  j["checkpoint"] = o.checkpoint;
  j["params"] = o.params;
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

uint64_t peak_rss_bytes() {
  struct rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

void run_export(ExportArgs& args) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  ExportOptions& o = args.options;
  auto dtype = dtype_from_name(args.dtype);
  if (!dtype || (*dtype != DType::F16 && *dtype != DType::F32))
    throw Error("--dtype: expected fp16 or fp32, found '" + args.dtype + "'");
  o.dtype = *dtype;
  o.embedding_quantize = parse_embedding_quantize(args.embedding_quantize);
  o.linear_quantize = parse_linear_quantize(args.linear_quantize);
  o.graph_breaks = !args.no_graph_breaks;
  for (size_t i = 0; i + 2 < args.adapter_words.size(); i += 3)
    o.adapters.push_back({args.adapter_words[i], args.adapter_words[i + 1], args.adapter_words[i + 2]});
  validate_options(o);
  validate_adapter_names(o.adapters, o.multifunction);
  const int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());

  ModelParams params = read_model_params(o.params);
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
  std::vector<std::string> pass_log = run_pipeline(program, o);
  program.metadata["exporter_version"] = TextValue{PTE_VERSION_STRING};
  program.metadata["export_flags"] = TextValue{export_flags_json(o)};
  const auto t_passes = Clock::now();
  PackReport r;
  {
    ProgressBar bar("pte export: weights");
    r = pack_program(program, checkpoints, o.output, threads, PTE_VERSION_STRING,
                     [&bar](size_t done, size_t total) { bar.update(done, total); });
  }
  const auto t_end = Clock::now();

  for (const std::string& w : params.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const std::string& n : checkpoint->notes()) std::fprintf(stderr, "note: %s\n", n.c_str());
  for (const std::string& n : program.log) std::fprintf(stderr, "note: %s\n", n.c_str());
  if (r.fp16_overflows)
    std::fprintf(stderr, "warning: %llu weight value(s) overflowed fp16 and became inf\n",
                 static_cast<unsigned long long>(r.fp16_overflows));
  if (o.verbose)
    for (const std::string& line : pass_log) std::fprintf(stderr, "pass %s\n", line.c_str());
  auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::fprintf(stderr, "wrote %s: %s, %llu blobs (%llu stored, %s deduplicated)\n", o.output.c_str(),
               human_bytes(r.file_size).c_str(), static_cast<unsigned long long>(r.blob_count),
               static_cast<unsigned long long>(r.stored_blob_count), human_bytes(r.deduplicated_bytes).c_str());
  std::fprintf(stderr, "  read %s, wrote %s in %.2f s (open %.2f s, build %.2f s, passes %.2f s, weights %.2f s, %d thread(s)); peak RSS %s\n",
               human_bytes(r.bytes_read).c_str(), human_bytes(r.file_size).c_str(), seconds(t0, t_end),
               seconds(t0, t_open), seconds(t_open, t_build), seconds(t_build, t_passes), seconds(t_passes, t_end),
               threads, human_bytes(peak_rss_bytes()).c_str());
  for (const auto& [name, bytes] : r.method_bytes)
    std::fprintf(stderr, "  method %s: %s\n", name.c_str(), human_bytes(bytes).c_str());
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  ExportOptions& o = args->options;
  CLI::App* cmd = app.add_subcommand("export", "Export a Llama checkpoint to a .pte file");
  cmd->add_option("-c,--checkpoint", o.checkpoint, "Model checkpoint (.pth or .safetensors)")->required();
  cmd->add_option("-p,--params", o.params, "params.json (Meta format)")->required();
  cmd->add_option("-o,--output", o.output, "Output .pte file")->capture_default_str();
  cmd->add_option("--max_context_len", o.max_context_len, "Context size (RoPE table length, cache sizing)")->capture_default_str();
  cmd->add_option("--input_len", o.input_len, "Tokens per call")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "fp16 or fp32")->capture_default_str();
  cmd->add_option("-E,--embedding_quantize", args->embedding_quantize, "<bits>,<group> or none")->capture_default_str();
  cmd->add_option("--linear_quantize", args->linear_quantize, "c4w, b4w or none")->capture_default_str();
  cmd->add_option("--target_split_size", o.target_split_size, "Split linears into chunks of about this size")->capture_default_str();
  cmd->add_option("--max_splits", o.max_splits, "Maximum chunks per linear")->capture_default_str();
  cmd->add_flag("--no_graph_breaks", args->no_graph_breaks, "One piece per method instead of three");
  cmd->add_option("--blocks_per_piece", o.blocks_per_piece,
                  "Cut the transformer blocks into pieces of this many layers (0: one piece for all)")
      ->capture_default_str();
  cmd->add_flag("--multifunction", o.multifunction,
                "Two methods sharing weights and caches: forward (decode, 1 token) and prefill (input_len tokens)");
  cmd->add_option("--adapter", args->adapter_words,
                  "NAME CKPT CONFIG: a PEFT LoRA adapter (adapter_model.safetensors, adapter_config.json) exported "
                  "as method NAME, or NAME_forward and NAME_prefill with --multifunction (repeatable)")
      ->expected(3)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--threads", o.threads, "Worker threads (0: all cores); the output does not depend on it")->capture_default_str();
  cmd->add_flag("-v,--verbose", o.verbose, "List the passes run and what each changed");
  cmd->callback([args] { run_export(*args); });
}

}  // namespace pte::cli
