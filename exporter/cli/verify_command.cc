// `pte verify`: the parity check to run after every export, by two independent implementations.
// The .pte runs on the fast executor. The reference is the float32, unquantized, unsplit program
// of the checkpoint, assembled in memory with its weights read from the checkpoint in place
// (exporter/reference/), and runs on the reference executor. Both are evaluated teacher-forced
// over the same tokens (the prompt plus a greedy continuation: the file's by default, or the
// reference's); verify prints max |logit diff|, mean KL(reference || file) and top-1 agreement,
// and fails when a given threshold is not met.
// An adapter method is compared with a reference built with the same adapter (its files from
// --adapter, else from the file's export_flags). A --multifunction file is driven as its
// prefill/decode pair (teacher-forced: every position through decode); its reference is a Full
// method with the same cache length (C = max_context_len - 1), so both attend to every position.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_input.h"
#include "exporter/cli/commands.h"
#include "exporter/cli/token_ids.h"
#include "exporter/export_model.h"
#include "exporter/program/export_options.h"
#include "exporter/reference/reference_program.h"
#include "runner/file_tokenizer.h"
#include "runtime-load/loaded_program.h"
#include "runtime-check/parallel.h"
#include "runtime-check/parity_metrics.h"
#include "runner/runner.h"
#include "schema/metadata_keys.h"

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

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The context the file was exported with: from its export_flags, else from its runner layout.
struct ExportShape {
  int64_t max_context_len = 0, input_len = 0;
};

int64_t flag_int(const nlohmann::json& flags, const char* field, const runtime::LoadedProgram& file) {
  auto it = flags.find(field);
  if (it == flags.end() || !it->is_number_integer())
    file.fail(std::string("metadata 'export_flags': expected an integer field '") + field + "', found " +
              (it == flags.end() ? std::string("none") : it->dump()));
  return it->get<int64_t>();
}

ExportShape export_shape_of(const runtime::LoadedProgram& file, const runtime::RunnerLayout& layout) {
  if (!file.has_metadata(meta::kExportFlags)) return {layout.max_context_len, layout.input_len};
  nlohmann::json flags = parse_untrusted_json(file.metadata_text(meta::kExportFlags), file.path() + ": metadata 'export_flags'").value;
  if (!flags.is_object()) file.fail("metadata 'export_flags': expected a JSON object");
  return {flag_int(flags, "max_context_len", file), flag_int(flags, "input_len", file)};
}

// The files of LoRA adapter `name`: from --adapter, else from the file's export_flags.
AdapterSpec adapter_spec(const VerifyArgs& a, const runtime::LoadedProgram& file, const std::string& name) {
  if (a.adapter_files.size() == 2) return {name, a.adapter_files[0], a.adapter_files[1]};
  const std::string hint = "; give --adapter CKPT CONFIG, the files it was exported from";
  if (!file.has_metadata(meta::kExportFlags))
    file.fail("method '" + a.method + "' belongs to LoRA adapter '" + name + "' and the file has no export_flags" + hint);
  nlohmann::json flags = parse_untrusted_json(file.metadata_text(meta::kExportFlags), file.path() + ": metadata 'export_flags'").value;
  if (flags.is_object() && flags.contains("adapters") && flags["adapters"].is_array())
    for (const nlohmann::json& e : flags["adapters"])
      if (e.is_object() && e.value("name", "") == name && e.contains("checkpoint") && e["checkpoint"].is_string() &&
          e.contains("config") && e["config"].is_string())
        return {name, e["checkpoint"].get<std::string>(), e["config"].get<std::string>()};
  file.fail("metadata 'export_flags' does not record the files of LoRA adapter '" + name + "'" + hint);
}

// The float32 reference program for `shape` (with `adapter` when given: then methods forward
// and NAME).
std::unique_ptr<ReferenceProgram> build_reference(const VerifyArgs& a, const ExportShape& shape,
                                                  const std::optional<AdapterSpec>& adapter, int threads) {
  ExportOptions o;
  o.checkpoint = a.checkpoint;
  o.params = a.params;
  o.max_context_len = shape.max_context_len;
  o.input_len = shape.input_len;
  o.dtype = DType::F32;
  o.embedding_quantize = std::nullopt;
  o.linear_quantize = LinearQuantization::None;
  o.target_split_size = std::numeric_limits<int64_t>::max();  // nothing splits
  o.max_splits = 1;
  o.graph_breaks = false;
  o.threads = threads;
  if (adapter) o.adapters = {*adapter};
  try {
    return std::make_unique<ReferenceProgram>(o);
  } catch (const Error& e) {
    const bool adapter_error = std::string(e.what()).rfind("adapter '", 0) == 0;
    if (!adapter || !adapter_error || a.adapter_files.size() == 2) throw;
    throw Error(std::string(e.what()) + " (paths as recorded in the export_flags of " + a.model +
                "; give --adapter CKPT CONFIG to point elsewhere)");
  }
}

// The file and the reference must describe the same model.
void check_same_model(const VerifyArgs& a, const runtime::LoadedProgram& file, const runtime::Runner& file_runner,
                      const runtime::LoadedProgram& ref, const runtime::Runner& ref_runner) {
  auto mismatch = [&](const std::string& what, int64_t in_file, int64_t in_ref) {
    throw Error(a.model + ": " + what + " is " + std::to_string(in_file) + " but the model built from " +
                a.checkpoint + " and " + a.params + " has " + std::to_string(in_ref) +
                " (was the file exported from them?)");
  };
  if (file_runner.layout().vocab_size != ref_runner.layout().vocab_size)
    mismatch(meta::kVocabSize, file_runner.layout().vocab_size, ref_runner.layout().vocab_size);
  for (const char* key : {meta::kLayers, meta::kHeadDim, meta::kHeadsPerCache})
    if (file.has_metadata(key) && ref.has_metadata(key) && file.metadata_int(key) != ref.metadata_int(key))
      mismatch(key, file.metadata_int(key), ref.metadata_int(key));
}

std::vector<int32_t> prompt_tokens(const VerifyArgs& a, int64_t vocab_size) {
  std::vector<int32_t> out;
  for (int32_t id : parse_token_ids(a.prompt_ids, "--prompt_ids")) {
    if (id < 0 || id >= vocab_size)
      throw Error("--prompt_ids: token " + std::to_string(id) + " is outside the vocabulary of " + a.model +
                  " (vocab_size " + std::to_string(vocab_size) + ")");
    out.push_back(static_cast<int32_t>(id));
  }
  if (out.empty()) throw Error("--prompt_ids: at least one token is needed");
  return out;
}

runtime::Generation teacher_forced(runtime::Runner& runner, const std::vector<int32_t>& sequence) {
  runtime::GenerateOptions options;
  options.max_new_tokens = 0;
  options.keep_logits = true;
  return runner.generate(sequence, options);
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void verify(const VerifyArgs& a, bool has_min_top1, bool has_max_kld) {
  const auto t0 = Clock::now();
  if (a.tokens < 1) throw Error("--tokens must be at least 1, found " + std::to_string(a.tokens));
  if (a.threads < 0) throw Error("--threads must be 0 (all cores) or positive, found " + std::to_string(a.threads));
  if (has_min_top1 && !(a.min_top1 >= 0 && a.min_top1 <= 1))
    throw Error("--min_top1 must be between 0 and 1, found " + fmt("%g", a.min_top1));
  if (has_max_kld && !(a.max_kld >= 0)) throw Error("--max_kld must be >= 0, found " + fmt("%g", a.max_kld));
  if (a.continuation != "file" && a.continuation != "reference")
    throw Error("--continuation must be 'file' or 'reference', found '" + a.continuation + "'");
  const bool by_reference = a.continuation == "reference";
  if (a.threads > 0) runtime::set_thread_count(static_cast<size_t>(a.threads));
  const int threads = a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  if (!a.adapter_files.empty() && a.adapter_files.size() != 2)
    throw Error("--adapter takes two paths: CKPT CONFIG");

  runtime::LoadedProgram file(a.model, {.check_hashes = !a.no_check_hashes});
  runtime::Runner file_runner(file, a.method);  // a Full method or a prefill/decode pair; throws listing the names
  ExportShape shape = export_shape_of(file, file_runner.layout());
  std::optional<AdapterSpec> adapter;
  if (const auto* name = file_runner.graph().method().adapter())
    adapter = adapter_spec(a, file, std::string(runtime::view(name)));
  else if (!a.adapter_files.empty())
    throw Error("--adapter: method '" + a.method + "' of " + a.model + " is a base method, not a LoRA adapter's");

  // The sequence: the prompt, then (below) the reference's greedy continuation.
  const int64_t vocab = file_runner.layout().vocab_size;
  std::vector<int32_t> sequence;
  if (!a.prompt.empty()) {
    std::optional<runtime::FileTokenizer> text = runtime::open_tokenizer(file, "", vocab);
    if (!text) throw Error("--prompt: " + a.model + " carries no tokenizer (export it with --tokenizer); give --prompt_ids");
    sequence = text->encode_prompt(a.prompt, false);
    if (sequence.empty()) throw Error("--prompt: the text encodes to no tokens");
  } else {
    sequence = prompt_tokens(a, vocab);
  }
  const int64_t context = std::min(file_runner.layout().max_context_len, shape.max_context_len);
  const int64_t positions = std::min(a.tokens, context);
  if (static_cast<int64_t>(sequence.size()) > positions)
    throw Error("--prompt_ids: " + std::to_string(sequence.size()) + " tokens, more than the " +
                std::to_string(positions) + " positions to verify (--tokens " + std::to_string(a.tokens) +
                ", max_context_len " + std::to_string(context) + ")");
  const size_t prompt_size = sequence.size();

  // A pair's cache holds max_context_len - 1 positions; a Full reference with T = input_len gets
  // the same cache length from max_context_len + input_len - 1 (its extra RoPE rows go unused).
  if (file_runner.is_pair()) shape.max_context_len += shape.input_len - 1;

  const std::unique_ptr<ReferenceProgram> reference = build_reference(a, shape, adapter, threads);
  const runtime::LoadedProgram& ref = reference->program();
  runtime::Runner ref_runner(ref, adapter ? adapter->name : "forward",
                             runtime::ExecutorOptions{.kind = runtime::ExecutorKind::Reference, .threads = 0, .cpu_variant = {}});
  check_same_model(a, file, file_runner, ref, ref_runner);
  const double build_seconds = seconds_since(t0);
  const auto t_eval = Clock::now();
  // The file's continuation comes with the file's logits of every position (the calls that
  // generate it are the calls that teacher-force it); the reference's needs a second pass.
  runtime::Generation found;
  if (static_cast<int64_t>(sequence.size()) < positions) {
    runtime::GenerateOptions options;
    options.max_new_tokens = positions - static_cast<int64_t>(sequence.size()) + (by_reference ? 0 : 1);
    options.keep_logits = !by_reference;
    runtime::Generation g = (by_reference ? ref_runner : file_runner).generate(sequence, options);
    const size_t take = std::min(g.tokens.size(), static_cast<size_t>(positions) - sequence.size());
    sequence.insert(sequence.end(), g.tokens.begin(), g.tokens.begin() + static_cast<std::ptrdiff_t>(take));
    if (!by_reference && g.logits_rows >= sequence.size()) {  // else (the context filled up) teacher-forced below
      found = std::move(g);
      found.logits.resize(sequence.size() * static_cast<size_t>(vocab));
    }
  }
  const double continuation_seconds = seconds_since(t_eval);
  auto t = Clock::now();
  runtime::Generation expected = teacher_forced(ref_runner, sequence);
  const double reference_seconds = seconds_since(t);
  t = Clock::now();
  if (found.logits.empty()) found = teacher_forced(file_runner, sequence);
  const double file_seconds = seconds_since(t);
  runtime::ParityMetrics m = runtime::compare_logits(expected.logits, found.logits, static_cast<size_t>(vocab));

  std::vector<std::string> failures;
  if (has_min_top1 && !(m.top1_agreement >= a.min_top1))
    failures.push_back("top-1 agreement " + fmt("%.4f", m.top1_agreement) + " < --min_top1 " + fmt("%g", a.min_top1));
  if (has_max_kld && !(m.mean_kld <= a.max_kld))
    failures.push_back("mean KL divergence " + fmt("%.6g", m.mean_kld) + " > --max_kld " + fmt("%g", a.max_kld));

  if (a.json) {
    nlohmann::ordered_json j;  // non-finite numbers print as null
    j["method"] = a.method;
    j["adapter"] = adapter ? nlohmann::ordered_json(adapter->name) : nullptr;
    j["positions"] = m.rows;
    j["continuation"] = a.continuation;
    j["max_abs_diff"] = m.max_abs_diff;
    j["max_abs_logit"] = m.max_abs_logit;
    j["relative_max_diff"] = m.relative_max_diff;
    j["mean_kld"] = m.mean_kld;
    j["top1_agreement"] = m.top1_agreement;
    j["seconds"] = {{"total", seconds_since(t0)}, {"assemble_reference", build_seconds},
                    {"continuation", continuation_seconds}, {"reference", reference_seconds}, {"file", file_seconds}};
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
                reference->viewed_weights(), reference->computed_weights());
    std::printf("  time                %.2f s: assembling the reference %.2f s, continuation %.2f s, "
                "reference (reference executor) %.2f s, file (fast executor) %.2f s\n",
                seconds_since(t0), build_seconds, continuation_seconds, reference_seconds, file_seconds);
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
