#pragma once
// Lookahead decoding (SPEC §9) on a Full method with the logits of every position: each call
// verifies several n-gram guesses at once. Guesses come from an n-gram pool over the prompt and
// the generated text: the tokens that followed earlier occurrences of the last `key` tokens.
// They are fed as branches of a token tree after the pending token (Runner::step_tree); the
// longest branch prefix that greedy decoding would have produced is accepted, plus the greedy
// token after it. The output is plain greedy decoding's, token for token.
#include <cstddef>
#include <functional>
#include <span>

#include "runner/runner.h"

namespace pte::runtime {

struct LookaheadOptions {
  size_t key = 2;          // tokens matched to find a guess (the n of the n-gram is key + 1)
  size_t guesses = 4;      // distinct guesses verified per call
  size_t guess_len = 7;    // tokens per guess (capped so that 1 + guesses * guess_len <= T)
};

struct LookaheadGeneration : Generation {
  size_t calls = 0;            // decoding calls (after the prompt)
  size_t accepted_guesses = 0; // guessed tokens that were accepted
  // Generated tokens per decoding call (the first token comes from the prompt's call).
  double tokens_per_call() const { return calls ? static_cast<double>(tokens.size() - 1) / static_cast<double>(calls) : 0.0; }
};

// Throws pte::Error when the runner's method does not return the logits of every position.
LookaheadGeneration generate_lookahead(Runner& runner, std::span<const int32_t> prompt, const GenerateOptions& options,
                                       const LookaheadOptions& lookahead = {},
                                       const TokenCallback& on_token = {});

}  // namespace pte::runtime
