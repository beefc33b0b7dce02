#pragma once
// Text generation on an opened Program: the runner protocol (prompt in chunks, caches, mask and
// RoPE rows driven by the file's metadata) on the fast executor, with the file's tokenizer.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pte/generation.h"
#include "pte/program.h"
#include "pte/result.h"

namespace pte {

namespace detail {
struct GeneratorState;
}

/// How a Generator is built.
struct GeneratorOptions {
  /// A Full method of this name, or the prefill/decode pair of a multifunction file
  /// ("forward": prefill + forward; an adapter NAME: NAME_prefill + NAME_forward).
  std::string method = "forward";
  /// "fast" (default) or "reference" (the verifier's interpreter).
  std::string executor = "fast";
  /// Worker threads of the fast executor (0: all cores).
  size_t threads = 0;
  /// A tokenizer file to use instead of the file's own (tokenizer.json, tokenizer.model, a
  /// llama2.c tokenizer.bin); empty: the file's.
  std::string tokenizer_path;
};

/// Generates tokens with one method (or pair) of a Program. Not thread-safe: one generation at
/// a time; movable.
class Generator {
 public:
  /// Prepares the method for `program` (which stays mapped while the Generator lives). Fails
  /// with NotFound for an unknown method and InvalidInput for a bad tokenizer.
  static Result<Generator> create(const Program& program, const GeneratorOptions& options = {});
  /// Releases the method, its caches and the executor's threads.
  ~Generator();
  /// Moves the prepared method; the moved-from Generator may only be destroyed or assigned to.
  Generator(Generator&&) noexcept;
  /// Moves the prepared method; the moved-from Generator may only be destroyed or assigned to.
  Generator& operator=(Generator&&) noexcept;

  /// True when a tokenizer is available (the file's, or GeneratorOptions::tokenizer_path).
  bool has_tokenizer() const;
  /// The model's vocabulary size.
  int64_t vocab_size() const;
  /// The longest sequence (prompt + generated tokens) the method's caches hold.
  int64_t max_context_len() const;
  /// The method names driven: {full} or {prefill, decode}.
  std::vector<std::string> method_names() const;

  /// The prompt ids of `text`: BOS when the file says so and `add_bos`, then the text's ids.
  /// InvalidArgument without a tokenizer.
  Result<std::vector<int32_t>> encode(std::string_view text, bool add_bos = true) const;
  /// The text of `ids`. InvalidArgument without a tokenizer.
  Result<std::string> decode(std::span<const int32_t> ids) const;

  /// Encodes `prompt` with the tokenizer, then generates as generate(ids, ...).
  Result<Generation> generate(std::string_view prompt, const GenerationConfig& config = {},
                              const TokenCallback& on_token = {});
  /// Processes the prompt ids (at least one, each below vocab_size()), then decodes greedily
  /// until max_new_tokens, a stop id, the callback returning false, or a full context.
  Result<Generation> generate(std::span<const int32_t> prompt, const GenerationConfig& config = {},
                              const TokenCallback& on_token = {});

 private:
  explicit Generator(std::unique_ptr<detail::GeneratorState> state);
  std::unique_ptr<detail::GeneratorState> state_;
};

}  // namespace pte
