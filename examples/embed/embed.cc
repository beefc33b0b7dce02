// Embedding pte: open a .pte, list its methods and metadata, then generate from a prompt,
// streaming each token's text and printing the generation figures.
//   embed MODEL.pte "PROMPT" [MAX_NEW_TOKENS] [--stop_after N]
// stdout gets the text (the prompt, then the continuation, as `pte run` prints it); stderr the
// file summary, the streamed continuation and the figures.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <pte/generator.h>
#include <pte/program.h>

namespace {

int fail(const pte::Status& status) {
  std::fprintf(stderr, "embed: %s: %s\n", pte::error_code_name(status.code()), status.message().c_str());
  return 1;
}

void describe(const pte::Program& program) {
  std::fprintf(stderr, "%s: %llu bytes, format %u, %s, container sha256 %s\n", program.path().c_str(),
               static_cast<unsigned long long>(program.file_size()), program.format_version(),
               program.exporter_version().c_str(), program.container_sha256().c_str());
  for (const pte::MethodInfo& m : program.methods()) {
    std::fprintf(stderr, "  method %s (%s): %zu inputs, %zu outputs, %zu pieces\n", m.name.c_str(), m.role.c_str(),
                 m.inputs.size(), m.outputs.size(), m.pieces);
  }
  std::fprintf(stderr, "  %zu blobs, %zu metadata entries", program.blobs().size(), program.metadata().size());
  if (pte::Result<std::vector<int64_t>> vocab = program.metadata_ints("vocab_size"); vocab.ok())
    std::fprintf(stderr, ", vocab_size %lld", static_cast<long long>(vocab->at(0)));
  if (pte::Result<std::string> name = program.metadata_text("general.name"); name.ok())
    std::fprintf(stderr, ", model %s", name->c_str());
  std::fprintf(stderr, "\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: embed MODEL.pte PROMPT [MAX_NEW_TOKENS] [--stop_after N]\n");
    return 2;
  }
  const std::string model = argv[1];
  const std::string prompt = argv[2];
  pte::GenerationConfig config;
  long long stop_after = -1;  // tokens after which the callback stops generation (-1: never)
  for (int i = 3; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--stop_after" && i + 1 < argc) stop_after = std::atoll(argv[++i]);
    else config.max_new_tokens = std::atoll(argv[i]);
  }

  pte::Result<pte::Program> program = pte::Program::open(model);
  if (!program.ok()) return fail(program.status());
  describe(*program);

  pte::Result<pte::Generator> generator = pte::Generator::create(*program);
  if (!generator.ok()) return fail(generator.status());
  if (!generator->has_tokenizer()) {
    std::fprintf(stderr, "embed: %s carries no tokenizer\n", model.c_str());
    return 1;
  }

  // The per-token callback streams the continuation to stderr; with --stop_after it is also the
  // stop condition: returning false ends generation after that token.
  long long seen = 0;
  auto on_token = [&](int32_t, std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stderr);
    return ++seen != stop_after;
  };
  pte::Result<pte::Generation> g = generator->generate(prompt, config, on_token);
  if (!g.ok()) return fail(g.status());
  std::fprintf(stderr, "\n");
  std::printf("%s\n", g->text.c_str());

  const pte::GenerationStats& s = g->stats;
  std::fprintf(stderr, "stop: %s; prompt %zu tokens, generated %zu\n", g->stop_reason.c_str(), s.prompt_tokens,
               s.generated_tokens);
  std::fprintf(stderr, "prefill %.1f tok/s, decode %.1f tok/s, peak memory %.1f MiB\n", s.prefill_tokens_per_second,
               s.decode_tokens_per_second, static_cast<double>(s.peak_memory_bytes) / (1024.0 * 1024.0));
  return 0;
}
