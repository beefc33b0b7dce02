#include "pte/generator.h"

#include <sys/resource.h>

#include <algorithm>
#include <optional>
#include <string>

#include "api/state.h"
#include "tokenizers/stream_decoder.h"

namespace pte {
namespace {

double per_second(size_t count, double seconds) { return seconds > 0 ? static_cast<double>(count) / seconds : 0.0; }

uint64_t peak_resident_bytes() {
  rusage u{};
  if (::getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

Status no_tokenizer() {
  return Status(ErrorCode::InvalidArgument,
                "the file carries no tokenizer (export it with --tokenizer) and no GeneratorOptions::tokenizer_path "
                "was given");
}

}  // namespace

Generator::Generator(std::unique_ptr<detail::GeneratorState> state) : state_(std::move(state)) {}
Generator::~Generator() = default;
Generator::Generator(Generator&&) noexcept = default;
Generator& Generator::operator=(Generator&&) noexcept = default;

Result<Generator> Generator::create(const Program& program, const GeneratorOptions& options) {
  return detail::guarded([&]() -> Result<Generator> {
    const runtime::LoadedProgram& loaded = program.state_->program;
    const auto runnable = runtime::runnable_methods(loaded);
    if (std::none_of(runnable.begin(), runnable.end(), [&](const auto& r) { return r.name == options.method; })) {
      std::string names;
      for (const auto& r : runnable) names += (names.empty() ? "" : ", ") + r.name;
      return Status(ErrorCode::NotFound,
                    loaded.path() + ": no method '" + options.method + "' to generate with (have: " + names + ")");
    }
    auto state = std::make_unique<detail::GeneratorState>();
    state->program = program.state_;
    runtime::ExecutorOptions executor;
    executor.kind = runtime::parse_executor_kind(options.executor);
    executor.threads = options.threads;
    state->runner = std::make_unique<runtime::Runner>(loaded, options.method, executor);
    state->tokenizer = runtime::open_tokenizer(loaded, options.tokenizer_path, state->runner->layout().vocab_size);
    state->eos = state->tokenizer ? state->tokenizer->eos : runtime::file_eos_ids(loaded);
    return Generator(std::move(state));
  });
}

bool Generator::has_tokenizer() const { return state_->tokenizer.has_value(); }
int64_t Generator::vocab_size() const { return state_->runner->layout().vocab_size; }
int64_t Generator::max_context_len() const { return state_->runner->layout().max_context_len; }
std::vector<std::string> Generator::method_names() const { return state_->runner->method_names(); }

Result<std::vector<int32_t>> Generator::encode(std::string_view text, bool add_bos) const {
  return detail::guarded([&]() -> Result<std::vector<int32_t>> {
    if (!state_->tokenizer) return no_tokenizer();
    return state_->tokenizer->encode_prompt(text, !add_bos);
  });
}

Result<std::string> Generator::decode(std::span<const int32_t> ids) const {
  return detail::guarded([&]() -> Result<std::string> {
    if (!state_->tokenizer) return no_tokenizer();
    return state_->tokenizer->tokenizer->decode(ids);
  });
}

Result<Generation> Generator::generate(std::string_view prompt, const GenerationConfig& config,
                                       const TokenCallback& on_token) {
  Result<std::vector<int32_t>> ids = encode(prompt, config.add_bos);
  if (!ids.ok()) return ids.status();
  return generate(std::span<const int32_t>(*ids), config, on_token);
}

// runtime::Runner::generate, with the caller's stop condition and the text decoded as `pte run`
// streams it.
Result<Generation> Generator::generate(std::span<const int32_t> prompt, const GenerationConfig& config,
                                       const TokenCallback& on_token) {
  return detail::guarded([&]() -> Result<Generation> {
    runtime::Runner& runner = *state_->runner;
    const runtime::RunnerLayout& layout = runner.layout();
    if (prompt.empty()) return Status(ErrorCode::InvalidArgument, "the prompt is empty: at least one token is needed");
    if (config.max_new_tokens < 0) return Status(ErrorCode::InvalidArgument, "max_new_tokens must be >= 0");
    if (static_cast<int64_t>(prompt.size()) > layout.max_context_len)
      return Status(ErrorCode::InvalidArgument, "the prompt has " + std::to_string(prompt.size()) +
                                                    " tokens, more than max_context_len " +
                                                    std::to_string(layout.max_context_len));
    for (int32_t id : prompt)
      if (id < 0 || id >= layout.vocab_size)
        return Status(ErrorCode::InvalidArgument, "prompt token " + std::to_string(id) +
                                                      " is outside the vocabulary (vocab_size " +
                                                      std::to_string(layout.vocab_size) + ")");
    runtime::GenerateOptions options;
    options.max_new_tokens = config.max_new_tokens;
    options.stop_ids = config.stop_ids;
    if (config.stop_at_eos) options.stop_ids.insert(options.stop_ids.end(), state_->eos.begin(), state_->eos.end());
    const auto is_stop = [&](int32_t t) {
      return std::find(options.stop_ids.begin(), options.stop_ids.end(), t) != options.stop_ids.end();
    };

    Generation g;
    g.prompt_tokens.assign(prompt.begin(), prompt.end());
    std::optional<tokenizers::StreamDecoder> stream;
    if (state_->tokenizer) {
      stream.emplace(*state_->tokenizer->tokenizer);
      g.text = stream->push(state_->tokenizer->shown(prompt));
    }
    runtime::Generation r = runner.generate(prompt, options, [&](int32_t next) {
      const std::string piece = stream && !is_stop(next) ? stream->push(next) : std::string();
      g.text += piece;
      const bool go_on = !on_token || on_token(next, piece);
      return go_on || is_stop(next);  // a stop token ends generation either way
    });
    if (stream) g.text += stream->finish();

    g.tokens = std::move(r.tokens);
    g.stop_reason = r.stop_reason;
    if (r.stop_reason == "stop_id" && config.stop_at_eos &&
        std::find(state_->eos.begin(), state_->eos.end(), g.tokens.back()) != state_->eos.end())
      g.stop_reason = "eos";
    g.stats.prefill_seconds = r.prefill_seconds;
    g.stats.decode_seconds = r.decode_seconds;
    g.stats.prompt_tokens = prompt.size();
    g.stats.generated_tokens = g.tokens.size();
    g.stats.prefill_tokens_per_second = per_second(prompt.size(), g.stats.prefill_seconds);
    g.stats.decode_tokens_per_second = per_second(r.decode_calls, g.stats.decode_seconds);
    g.stats.peak_memory_bytes = peak_resident_bytes();
    return g;
  });
}

}  // namespace pte
