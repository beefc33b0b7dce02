// `pte verify`: the parity check to run after every export (exporter/parity/: the file on the
// fast executor against the float32 reference of its checkpoint on the reference executor);
// prints max |logit diff|, mean KL(reference || file) and top-1 agreement, and fails when a given
// threshold is not met.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "exporter/cli/commands.h"
#include "exporter/cli/token_ids.h"
#include "exporter/parity/parity_check.h"
#include "exporter/parity/quality_report.h"
#include "runtime-check/parallel.h"
#include "runtime-load/loaded_program.h"

namespace pte::cli {
namespace {

struct VerifyArgs {
  std::string model, checkpoint, params;
  std::string method = "forward";
  std::vector<std::string> prompt_ids = {"1"};
  std::string prompt;  // text, encoded by the file's tokenizer, instead of prompt_ids
  std::vector<std::string> adapter_files;  // --adapter CKPT CONFIG
  int64_t tokens = 128;
  double min_top1 = 0, max_kld = 0;
  bool json = false;
  bool no_check_hashes = false;
  int threads = 0;
  std::string continuation = "file";  // whose greedy tokens follow the prompt: "file" or "reference"
};

std::vector<int32_t> prompt_ids(const VerifyArgs& a) {
  std::vector<int32_t> out;
  for (int32_t id : parse_token_ids(a.prompt_ids, "--prompt_ids")) out.push_back(id);
  if (out.empty()) throw Error("--prompt_ids: at least one token is needed");
  return out;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void verify(const VerifyArgs& a, bool has_min_top1, bool has_max_kld) {
  if (a.threads < 0) throw Error("--threads must be 0 (all cores) or positive, found " + std::to_string(a.threads));
  if (has_min_top1 && !(a.min_top1 >= 0 && a.min_top1 <= 1))
    throw Error("--min_top1 must be between 0 and 1, found " + fmt("%g", a.min_top1));
  if (has_max_kld && !(a.max_kld >= 0)) throw Error("--max_kld must be >= 0, found " + fmt("%g", a.max_kld));
  if (a.continuation != "file" && a.continuation != "reference")
    throw Error("--continuation must be 'file' or 'reference', found '" + a.continuation + "'");
  if (a.threads > 0) runtime::set_thread_count(static_cast<size_t>(a.threads));

  ParityRequest request;
  request.checkpoint = a.checkpoint;
  request.params = a.params;
  request.method = a.method;
  request.adapter_files = a.adapter_files;
  if (a.prompt.empty()) request.prompt_ids = prompt_ids(a);
  request.prompt_text = a.prompt;
  request.tokens = a.tokens;
  request.reference_continuation = a.continuation == "reference";
  request.threads = a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  const runtime::LoadedProgram file(a.model, {.check_hashes = !a.no_check_hashes});
  const ParityReport report = check_parity(file, request);
  const runtime::ParityMetrics& m = report.metrics;
  const size_t prompt_size = report.prompt.size();
  const bool by_reference = request.reference_continuation;
  const std::optional<nlohmann::json> stored = stored_quality_report(file);
  const std::string stored_match = stored ? compare_with_stored(*stored, request, report) : "";

  std::vector<std::string> failures;
  if (has_min_top1 && !(m.top1_agreement >= a.min_top1))
    failures.push_back("top-1 agreement " + fmt("%.4f", m.top1_agreement) + " < --min_top1 " + fmt("%g", a.min_top1));
  if (has_max_kld && !(m.mean_kld <= a.max_kld))
    failures.push_back("mean KL divergence " + fmt("%.6g", m.mean_kld) + " > --max_kld " + fmt("%g", a.max_kld));

  if (a.json) {
    nlohmann::ordered_json j;  // non-finite numbers print as null
    j["method"] = a.method;
    j["adapter"] = report.adapter.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(report.adapter);
    j["positions"] = m.rows;
    j["continuation"] = a.continuation;
    j["max_abs_diff"] = m.max_abs_diff;
    j["max_abs_logit"] = m.max_abs_logit;
    j["relative_max_diff"] = m.relative_max_diff;
    j["mean_kld"] = m.mean_kld;
    j["top1_agreement"] = m.top1_agreement;
    j["seconds"] = {{"total", report.total_seconds}, {"assemble_reference", report.assemble_seconds},
                    {"continuation", report.continuation_seconds}, {"reference", report.reference_seconds},
                    {"file", report.file_seconds}};
    j["stored_report"] = stored ? nlohmann::ordered_json(stored_match) : nullptr;
    j["passed"] = failures.empty();
    j["thresholds"] = {{"min_top1", has_min_top1 ? nlohmann::ordered_json(a.min_top1) : nullptr},
                       {"max_kld", has_max_kld ? nlohmann::ordered_json(a.max_kld) : nullptr}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s, method %s: %zu positions (%zu prompt + %zu greedy tokens of the %s), teacher-forced\n",
                a.model.c_str(), a.method.c_str(), m.rows, prompt_size, m.rows - prompt_size,
                by_reference ? "fp32 reference" : "file");
    std::printf("  max |logit diff|    %.6g (relative %.3g of max |logit| %.6g)\n", m.max_abs_diff,
                m.relative_max_diff, m.max_abs_logit);
    std::printf("  KL(reference||file) mean %.6g nats, worst position %.6g\n", m.mean_kld, m.max_kld);
    std::printf("  top-1 agreement     %.4f (%zu/%zu)\n", m.top1_agreement, m.top1_matches, m.rows);
    std::printf("  reference           %zu weights read from the checkpoint in place, %zu computed into memory\n",
                report.viewed_weights, report.computed_weights);
    std::printf("  time                %.2f s: assembling the reference %.2f s, continuation %.2f s, "
                "reference (reference executor) %.2f s, file (fast executor) %.2f s\n",
                report.total_seconds, report.assemble_seconds, report.continuation_seconds, report.reference_seconds,
                report.file_seconds);
    if (stored)
      std::printf("  stored report       %s (measured at export: top-1 %s, mean KL %s over %s positions)\n",
                  stored_match == "reproduced" ? "reproduced exactly"
                  : stored_match == "differs"  ? "DIFFERS from this run"
                                               : "measured with another protocol (method, prompt, positions or continuation)",
                  stored->value("top1_agreement", nlohmann::json()).dump().c_str(),
                  stored->value("mean_kld", nlohmann::json()).dump().c_str(),
                  stored->value("positions", nlohmann::json()).dump().c_str());
    if (!has_min_top1 && !has_max_kld) std::printf("  no thresholds given (--min_top1, --max_kld)\n");
    else if (failures.empty()) std::printf("  passed\n");
  }
  std::fflush(stdout);
  if (!failures.empty()) {
    std::string message = "verify failed: " + failures[0];
    for (size_t i = 1; i < failures.size(); ++i) message += "; " + failures[i];
    throw Error(message);
  }
}

}  // namespace

void add_verify_command(CLI::App& app) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Parity check: compare a .pte with a float32 evaluation of its checkpoint on the same tokens");
  cmd->add_option("-m,--model", args->model, ".pte file to verify")->required();
  cmd->add_option("-c,--checkpoint", args->checkpoint, "the checkpoint it was exported from")->required();
  cmd->add_option("-p,--params", args->params,
                  "the params.json or config.json it was exported with; default: the one in the checkpoint folder");
  cmd->add_option("--method", args->method,
                  "base or adapter name to verify (a Full method, or a --multifunction file's prefill/decode pair)")
      ->capture_default_str();
  cmd->add_option("--adapter", args->adapter_files,
                  "CKPT CONFIG: the files of the LoRA adapter of --method (default: as recorded in export_flags)")
      ->expected(2);
  CLI::Option* ids = cmd->add_option("--prompt_ids", args->prompt_ids, "prompt token ids (default 1, i.e. BOS)")->delimiter(',');
  cmd->add_option("--prompt", args->prompt, "prompt text, encoded by the file's tokenizer (with BOS as the file says)")
      ->excludes(ids);
  cmd->add_option("--tokens", args->tokens,
                  "positions compared: the prompt, then the reference's greedy continuation (capped by the context)")
      ->capture_default_str();
  CLI::Option* min_top1 = cmd->add_option("--min_top1", args->min_top1,
                                          "fail when the top-1 agreement is below this (0..1)");
  CLI::Option* max_kld = cmd->add_option("--max_kld", args->max_kld,
                                         "fail when the mean KL(reference||file), in nats, is above this");
  cmd->add_flag("--json", args->json, "print one JSON object");
  cmd->add_flag("--no_check_hashes", args->no_check_hashes, "skip the SHA-256 check of every blob of the file");
  cmd->add_option("--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
  cmd->add_option("--continuation", args->continuation,
                  "whose greedy tokens follow the prompt: 'file' (the .pte's, fast) or 'reference' (the fp32 "
                  "model's, one reference call per token)")
      ->capture_default_str();
  cmd->footer(
      "Two implementations: the file runs on the fast executor; the reference, the checkpoint in float32 without\n"
      "quantization or splitting, with the file's max_context_len and input_len, runs on the reference executor,\n"
      "its weights read from the checkpoint in place (nothing is written to disk). Exits 1 when a threshold fails.\n"
      "An adapter's reference includes the same adapter; adapter paths recorded relative to the export's\n"
      "working folder are resolved relative to the current one.");
  cmd->callback([args, min_top1, max_kld] { verify(*args, min_top1->count() > 0, max_kld->count() > 0); });
}

}  // namespace pte::cli
