// `pte run`: drive a method of a .pte through the runner protocol (SPEC §9) — prompt in chunks,
// greedy decoding — and print the text or a JSON summary; optionally dump every logits row.
// --method names the base model or an adapter: a Full method of that name, or the
// prefill/decode pair of a --multifunction file (prefill + forward, NAME_prefill + NAME_forward).
#include <algorithm>
#include <climits>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "exporter/cli/commands.h"
#include "exporter/cli/token_ids.h"
#include "runner/file_tokenizer.h"
#include "runner/lookahead.h"
#include "runner/runner.h"
#include "runtime-check/npy_writer.h"
#include "runtime-check/parallel.h"
#include "runtime-load/loaded_program.h"
#include "tokenizers/stream_decoder.h"

namespace pte::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string method = "forward";
  std::string prompt;
  std::string tokenizer;
  std::vector<std::string> prompt_ids;
  std::vector<std::string> stop_ids;
  bool no_check_hashes = false;
  int64_t max_new_tokens = 64;
  bool no_bos = false;
  bool ignore_eos = false;
  bool json = false;
  std::string logits_out;
  int threads = 0;
  std::string executor = "fast";
  bool lookahead = false;
  std::string cpu_variant;
};

double per_second(size_t count, double seconds) { return seconds > 0 ? static_cast<double>(count) / seconds : 0.0; }

void run(const RunArgs& a, bool has_prompt, bool has_prompt_ids) {
  if (has_prompt == has_prompt_ids) throw Error("pte run: give exactly one of --prompt and --prompt_ids");
  if (a.max_new_tokens < 0) throw Error("pte run: --max_new_tokens must be >= 0");
  if (a.threads < 0) throw Error("pte run: --threads must be >= 0");
  if (a.threads > 0) runtime::set_thread_count(static_cast<size_t>(a.threads));

  runtime::LoadedProgram program(a.model, {.check_hashes = !a.no_check_hashes});
  runtime::ExecutorOptions executor;
  executor.kind = runtime::parse_executor_kind(a.executor);
  executor.threads = a.threads > 0 ? static_cast<size_t>(a.threads) : 0;
  executor.cpu_variant = a.cpu_variant;
  runtime::Runner runner(program, a.method, executor);
  std::optional<runtime::FileTokenizer> text = runtime::open_tokenizer(program, a.tokenizer, runner.layout().vocab_size);
  if (has_prompt && !text)
    throw Error("pte run: --prompt needs a tokenizer: " + a.model +
                " carries none (export it with --tokenizer) and no --tokenizer was given");
  std::vector<int32_t> prompt = has_prompt ? text->encode_prompt(a.prompt, a.no_bos)
                                           : parse_token_ids(a.prompt_ids, "--prompt_ids");
  for (int32_t id : prompt)
    if (id >= runner.layout().vocab_size)
      throw Error("pte run: prompt token " + std::to_string(id) + " is outside the vocabulary of " + a.model +
                  " (vocab_size " + std::to_string(runner.layout().vocab_size) + ")");

  runtime::GenerateOptions options;
  options.max_new_tokens = a.max_new_tokens;
  options.stop_ids = parse_token_ids(a.stop_ids, "--stop_ids", /*allow_empty=*/true);
  const std::vector<int32_t> eos = a.ignore_eos ? std::vector<int32_t>() : text ? text->eos : runtime::file_eos_ids(program);
  options.stop_ids.insert(options.stop_ids.end(), eos.begin(), eos.end());
  options.keep_logits = !a.logits_out.empty();

  // Text streams as it is generated; the token that stops generation is not shown.
  auto is_stop = [&](int32_t t) { return std::find(options.stop_ids.begin(), options.stop_ids.end(), t) != options.stop_ids.end(); };
  std::optional<tokenizers::StreamDecoder> stream;
  if (text) stream.emplace(*text->tokenizer);
  auto print = [](const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  };
  auto print_token = [&](int32_t token) {
    if (!is_stop(token)) print(stream ? stream->push(token) : " " + std::to_string(token));
    return true;
  };
  if (!a.json) {
    std::string head;
    if (stream) head = stream->push(text->shown(prompt));
    else for (size_t i = 0; i < prompt.size(); ++i) head += (i ? " " : "") + std::to_string(prompt[i]);
    print(head);
  }
  const auto on_token = a.json ? runtime::TokenCallback() : print_token;
  std::optional<runtime::LookaheadGeneration> lookahead;
  if (a.lookahead) {
    if (options.keep_logits) throw Error("pte run: --lookahead and --logits_out cannot be combined");
    lookahead = runtime::generate_lookahead(runner, prompt, options, {}, on_token);
  }
  runtime::Generation g = lookahead ? *lookahead : runner.generate(prompt, options, on_token);

  if (!a.logits_out.empty())
    runtime::write_npy_f32(a.logits_out, g.logits, g.logits_rows, static_cast<size_t>(runner.layout().vocab_size));
  const double prefill_rate = per_second(g.prefill_tokens, g.prefill_seconds);
  const double decode_rate = per_second(g.decode_calls, g.decode_seconds);
  if (a.json) {
    nlohmann::ordered_json j;
    j["method"] = a.method;
    nlohmann::ordered_json calls = nlohmann::ordered_json::object();
    for (const std::string& m : runner.method_names()) calls[m] = runner.calls(m);
    j["calls"] = calls;  // the methods driven, with the number of calls each received
    j["prompt_tokens"] = prompt;
    j["tokens"] = g.tokens;
    const bool stopped_by_token = g.stop_reason == "stop_id" && !g.tokens.empty();
    if (text) {
      std::vector<int32_t> all = prompt;
      all.insert(all.end(), g.tokens.begin(), g.tokens.end() - (stopped_by_token ? 1 : 0));
      j["text"] = text->tokenizer->decode(text->shown(all));
    }
    const bool at_eos = stopped_by_token && std::find(eos.begin(), eos.end(), g.tokens.back()) != eos.end();
    j["stop_reason"] = at_eos ? std::string("eos") : g.stop_reason;  // eos, stop_id, max_new_tokens, context_full
    j["stop_token"] = stopped_by_token ? nlohmann::ordered_json(g.tokens.back()) : nullptr;
    if (lookahead) {
      j["lookahead_calls"] = lookahead->calls;
      j["lookahead_tokens_per_call"] = lookahead->tokens_per_call();
    }
    j["prefill_tokens_per_second"] = prefill_rate;
    j["decode_tokens_per_second"] = decode_rate;
    // Model output may not be valid UTF-8: replace bad bytes rather than fail.
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    if (stream) print(stream->finish());
    std::printf("\n");
    std::fflush(stdout);  // the text ends before the timing line on stderr
    if (g.stop_reason == "context_full")
      std::fprintf(stderr, "pte run: stopped at max_context_len %lld\n",
                   static_cast<long long>(runner.layout().max_context_len));
  }
  if (lookahead)
    std::fprintf(stderr, "lookahead: %zu decoding calls, %.2f tokens per call (%zu guessed tokens accepted)\n",
                 lookahead->calls, lookahead->tokens_per_call(), lookahead->accepted_guesses);
  std::fprintf(stderr, "prefill: %zu tokens in %.3f s (%.1f tok/s); decode: %zu tokens in %.3f s (%.1f tok/s)\n",
               g.prefill_tokens, g.prefill_seconds, prefill_rate, g.decode_calls, g.decode_seconds, decode_rate);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a .pte: process a prompt, decode greedily, print the text");
  cmd->add_option("-m,--model", args->model, ".pte file")->required();
  cmd->add_option("--method", args->method,
                  "base or adapter name: a Full method of that name, or its prefill/decode pair in a "
                  "--multifunction file (forward: prefill + forward; NAME: NAME_prefill + NAME_forward)")
      ->capture_default_str();
  CLI::Option* prompt = cmd->add_option("--prompt", args->prompt,
                                        "prompt text, encoded by the file's tokenizer (or --tokenizer)");
  CLI::Option* ids = cmd->add_option("--prompt_ids", args->prompt_ids, "prompt token ids, e.g. 1,403,407")
                         ->delimiter(',');
  prompt->excludes(ids);
  cmd->add_option("--tokenizer", args->tokenizer,
                  "tokenizer file to use instead of the file's own (tokenizer.json, tokenizer.model, tok512.bin)");
  cmd->add_option("--max_new_tokens", args->max_new_tokens, "tokens to generate")->capture_default_str();
  cmd->add_option("--stop_ids", args->stop_ids, "stop after generating one of these ids (besides the file's EOS ids)")
      ->delimiter(',');
  cmd->add_flag("--ignore_eos", args->ignore_eos, "do not stop at the file's EOS ids");
  cmd->add_flag("--no_bos", args->no_bos, "do not prepend BOS to --prompt (the file says whether to add it)");
  cmd->add_flag("--json", args->json, "print one JSON object instead of the text");
  cmd->add_flag("--no_check_hashes", args->no_check_hashes, "skip the SHA-256 check of every blob before running");
  cmd->add_option("--logits_out", args->logits_out,
                  "write every logits row to this .npy file (with a prefill/decode pair the prompt then goes "
                  "one token per decode call, so that every position has its row)");
  cmd->add_option("--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
  cmd->add_option("--executor", args->executor,
                  "fast (prepared kernels, weights used in place) or reference (the verifier's oracle interpreter)")
      ->capture_default_str();
  cmd->add_option("--cpu_variant", args->cpu_variant,
                  "fast executor kernels: portable, avx2 or avx512 (default: the best this CPU runs)");
  cmd->add_flag("--lookahead", args->lookahead,
                "lookahead decoding: verify n-gram guesses from the prompt and the text so far in each call "
                "(a single-method file; the tokens are greedy decoding's)");
  cmd->callback([args, prompt, ids] { run(*args, prompt->count() > 0, ids->count() > 0); });
}

}  // namespace pte::cli
