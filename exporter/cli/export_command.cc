// `pte export`: checkpoint + params.json or config.json -> .pte, with the reference's flags (SPEC §1).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "common/error.h"
#include "exporter/cli/commands.h"
#include "exporter/cli/human_bytes.h"
#include "exporter/cli/progress_bar.h"
#include "exporter/calibration/calibration.h"
#include "exporter/export_model.h"
#include "exporter/cli/token_ids.h"
#include "exporter/packer/output_path.h"
#include "exporter/parity/parity_check.h"
#include "exporter/parity/quality_report.h"
#include "runtime-load/loaded_program.h"
#include "schema/metadata_keys.h"

namespace pte::cli {
namespace {

struct ExportArgs {
  ExportOptions options;
  std::string dtype = "fp16";
  std::string embedding_quantize = "8,0";
  std::string linear_quantize = "c4w";
  std::vector<std::string> quant;
  std::string quant_search = "none";
  bool no_graph_breaks = false;
  std::vector<std::string> adapter_words;
  bool report = false;  // measure the file against its checkpoint and store the figures
  int64_t report_tokens = 128;
  std::vector<std::string> report_prompt_ids;  // default: the model's BOS
};

// The BOS id the file records (its tokenizer's, else its config's), else 1.
int32_t bos_of(const runtime::LoadedProgram& file) {
  for (const char* key : {meta::kBosTokenId, meta::kBosId})
    if (file.has_metadata(key)) return static_cast<int32_t>(file.metadata_int(key));
  return 1;
}

uint64_t peak_rss_bytes() {
  struct rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

void run_export(ExportArgs& args) {
  ExportOptions& o = args.options;
  auto dtype = dtype_from_name(args.dtype);
  if (!dtype || (*dtype != DType::F16 && *dtype != DType::F32))
    throw Error("--dtype: expected fp16 or fp32, found '" + args.dtype + "'");
  o.dtype = *dtype;
  o.embedding_quantize = parse_embedding_quantize(args.embedding_quantize);
  o.linear_quantize = parse_linear_quantize(args.linear_quantize);
  for (const std::string& q : args.quant) o.quant_overrides.push_back(parse_quant_override(q));
  o.quant_search = parse_quant_search(args.quant_search);
  o.graph_breaks = !args.no_graph_breaks;
  for (size_t i = 0; i + 2 < args.adapter_words.size(); i += 3)
    o.adapters.push_back({args.adapter_words[i], args.adapter_words[i + 1], args.adapter_words[i + 2]});
  const int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  validate_options(o);
  if (args.report && args.report_tokens < 1)
    throw Error("--report_tokens must be at least 1, found " + std::to_string(args.report_tokens));
  const std::vector<int32_t> report_ids =
      args.report_prompt_ids.empty() ? std::vector<int32_t>{} : parse_token_ids(args.report_prompt_ids, "--report_prompt_ids");
  OutputFile output(checked_output_path(o.output, export_inputs(o)));
  std::optional<Calibration> calibration;
  if (!o.calibration.empty()) {
    calibration = calibrate(o, threads);
    if (o.verbose)
      std::fprintf(stderr, "calibration: %lld tokens of %s, %zu linear inputs\n",
                   static_cast<long long>(calibration->tokens), o.calibration.c_str(), calibration->importances.size() + calibration->hessians.size());
  }
  ExportReport report;
  std::optional<ParityReport> quality;
  MeasureQuality measure;
  if (args.report)
    measure = [&](const std::string& path) {
      const runtime::LoadedProgram file(path, {.check_hashes = false});  // just written
      ParityRequest request;
      request.checkpoint = o.checkpoint;
      request.params = o.params;
      request.prompt_ids = report_ids.empty() ? std::vector<int32_t>{bos_of(file)} : report_ids;
      request.tokens = args.report_tokens;
      request.threads = threads;
      std::fprintf(stderr, "pte export: measuring the file against the checkpoint (%lld positions)\n",
                   static_cast<long long>(args.report_tokens));
      quality = check_parity(file, request);
      return quality_report_json(request, *quality, bits_per_weight(file, request.method));
    };
  {
    ProgressBar bar("pte export: weights");
    report = export_model(o, threads, output, [&bar](size_t done, size_t total) { bar.update(done, total); },
                          calibration ? &*calibration : nullptr, measure);
  }
  output.commit();
  const PackReport& r = report.pack;
  for (const std::string& w : report.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const std::string& n : report.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  if (o.verbose)
    for (const std::string& line : report.passes) std::fprintf(stderr, "pass %s\n", line.c_str());
  std::fprintf(stderr, "wrote %s: %s, %llu blobs (%llu stored, %s deduplicated)\n", o.output.c_str(),
               human_bytes(r.file_size).c_str(), static_cast<unsigned long long>(r.blob_count),
               static_cast<unsigned long long>(r.stored_blob_count), human_bytes(r.deduplicated_bytes).c_str());
  const double total = report.open_seconds + report.build_seconds + report.passes_seconds + report.pack_seconds;
  std::fprintf(stderr, "  read %s, wrote %s in %.2f s (open %.2f s, build %.2f s, passes %.2f s, weights %.2f s, %d thread(s)); peak RSS %s\n",
               human_bytes(r.bytes_read).c_str(), human_bytes(r.file_size).c_str(), total, report.open_seconds,
               report.build_seconds, report.passes_seconds, report.pack_seconds, threads,
               human_bytes(peak_rss_bytes()).c_str());
  for (const auto& [name, bytes] : r.method_bytes)
    std::fprintf(stderr, "  method %s: %s\n", name.c_str(), human_bytes(bytes).c_str());
  if (quality)
    std::fprintf(stderr, "  quality (stored): top-1 agreement %.4f, mean KL %.6g nats over %zu positions, in %.2f s\n",
                 quality->metrics.top1_agreement, quality->metrics.mean_kld, quality->positions, report.measure_seconds);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  ExportOptions& o = args->options;
  CLI::App* cmd = app.add_subcommand("export", "Export a Llama checkpoint to a .pte file");
  cmd->add_option("-c,--checkpoint", o.checkpoint,
                  "Model checkpoint: .pth, .safetensors, model.safetensors.index.json, or a folder (Hugging Face or Meta)")
      ->required();
  cmd->add_option("-p,--params", o.params,
                  "params.json (Meta) or config.json (Hugging Face); default: the one in the checkpoint folder");
  cmd->add_option("-o,--output", o.output, "Output .pte file")->capture_default_str();
  cmd->add_option("--max_context_len", o.max_context_len, "Context size (RoPE table length, cache sizing)")->capture_default_str();
  cmd->add_option("--input_len", o.input_len, "Tokens per call")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "fp16 or fp32")->capture_default_str();
  cmd->add_option("-E,--embedding_quantize", args->embedding_quantize, "<bits>,<group> or none")->capture_default_str();
  cmd->add_option("--linear_quantize", args->linear_quantize, "c4w, b4w or none")->capture_default_str();
  cmd->add_option("--quant", args->quant,
                  "PATTERN=MODE: linears whose Meta module name matches the glob (output, layers.0.*, "
                  "*.feed_forward.w2) get MODE (c4w, b4w, c8w, none); repeatable, the first match wins")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--quant_search", args->quant_search,
                  "none (the reference's scales), mse (each block's scale from a grid, least squared error) or "
                  "gptq (with --calibration: each row's codes chosen column by column against the calibration "
                  "inputs, GPTQ)")
      ->capture_default_str();
  cmd->add_option("--calibration", o.calibration,
                  "Calibration tokens: a FILE.ids of token ids, or text encoded with the tokenizer; the mse "
                  "search then weights its error by each linear's input-channel mean squares, gptq uses "
                  "their correlations");
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
  cmd->add_option("--tokenizer", o.tokenizer,
                  "tokenizer file to pack into the .pte (tokenizer.json, tokenizer.model or llama2.c tokenizer.bin); "
                  "tokenizer_config.json and generation_config.json beside it are read too");
  cmd->add_option("--threads", o.threads, "Worker threads (0: all cores); the output does not depend on it")->capture_default_str();
  cmd->add_flag("-v,--verbose", o.verbose, "List the passes run and what each changed");
  cmd->add_flag("--report", args->report,
                "Measure the file against the float32 checkpoint as pte verify does (the file's greedy continuation) "
                "and store top-1 agreement, mean KL, the positions and bits per weight in its metadata");
  cmd->add_option("--report_tokens", args->report_tokens, "Positions the --report measures")->capture_default_str();
  cmd->add_option("--report_prompt_ids", args->report_prompt_ids,
                  "Prompt of the --report (default: the model's BOS id, else 1)")
      ->delimiter(',');
  cmd->callback([args] { run_export(*args); });
}

}  // namespace pte::cli
