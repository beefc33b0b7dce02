#include "runner/lookahead.h"

#include <algorithm>
#include <chrono>

#include "common/error.h"

namespace pte::runtime {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Up to `count` distinct continuations (of up to `length` tokens) of the last `key` tokens of
// `history`, most recent occurrence first.
std::vector<std::vector<int32_t>> find_guesses(const std::vector<int32_t>& history, size_t key, size_t count,
                                               size_t length) {
  std::vector<std::vector<int32_t>> out;
  const size_t n = history.size();
  if (n <= key || length == 0) return out;
  const int32_t* tail = history.data() + n - key;
  for (size_t start = n - key; start-- > 0 && out.size() < count;) {
    if (!std::equal(tail, tail + key, history.data() + start)) continue;
    const size_t from = start + key, to = std::min(n, from + length);
    if (from >= to) continue;
    std::vector<int32_t> guess(history.begin() + static_cast<ptrdiff_t>(from), history.begin() + static_cast<ptrdiff_t>(to));
    if (std::find(out.begin(), out.end(), guess) == out.end()) out.push_back(std::move(guess));
  }
  return out;
}

}  // namespace

LookaheadGeneration generate_lookahead(Runner& runner, std::span<const int32_t> prompt, const GenerateOptions& options,
                                       const LookaheadOptions& lookahead, const TokenCallback& on_token) {
  const RunnerLayout& layout = runner.layout();
  if (runner.is_pair() || layout.last_pos_input)
    throw Error("--lookahead needs a method with the logits of every position (a single-method export); '" +
                runner.name() + "' returns one row per call");
  if (prompt.empty()) throw Error("the prompt is empty: at least one token is needed");
  if (static_cast<int64_t>(prompt.size()) > layout.max_context_len)
    throw Error("the prompt has " + std::to_string(prompt.size()) + " tokens, more than max_context_len " +
                std::to_string(layout.max_context_len));
  runner.reset();
  LookaheadGeneration g;
  const size_t V = static_cast<size_t>(layout.vocab_size), T = static_cast<size_t>(layout.input_len);
  std::vector<int32_t> history(prompt.begin(), prompt.end());

  auto start = std::chrono::steady_clock::now();
  std::vector<float> last;
  for (size_t begin = 0; begin < prompt.size(); begin += T) last = runner.step(prompt.subspan(begin, std::min(T, prompt.size() - begin)));
  g.prefill_tokens = prompt.size();
  g.prefill_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  g.stop_reason = "max_new_tokens";
  // Emits one token; false when generation stops.
  auto emit = [&](int32_t token) {
    g.tokens.push_back(token);
    history.push_back(token);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end()) {
      if (on_token) on_token(token);
      g.stop_reason = "stop_id";
      return false;
    }
    if (on_token && !on_token(token)) {
      g.stop_reason = "callback";
      return false;
    }
    return static_cast<int64_t>(g.tokens.size()) < options.max_new_tokens;
  };
  if (options.max_new_tokens <= 0) {
    g.decode_seconds = seconds_since(start);
    return g;
  }
  int32_t next = static_cast<int32_t>(argmax(std::span<const float>(last.data() + last.size() - V, V)));
  bool going = emit(next);
  std::vector<int32_t> tokens, parents;
  std::vector<size_t> branch_start, path;
  while (going) {
    const int64_t room = layout.max_context_len - runner.position();  // positions left, row 0 included
    if (room < 1) {
      g.stop_reason = "context_full";
      break;
    }
    const size_t length = std::min<size_t>({lookahead.guess_len, T > 1 ? (T - 1) : 0, static_cast<size_t>(room - 1)});
    const size_t count = length ? std::min(lookahead.guesses, (T - 1) / length) : 0;
    const auto guesses = find_guesses(history, lookahead.key, count, length);
    tokens.assign(1, next);
    parents.assign(1, -1);
    branch_start.clear();
    for (const auto& guess : guesses) {
      branch_start.push_back(tokens.size());
      for (size_t j = 0; j < guess.size(); ++j) {
        parents.push_back(j ? static_cast<int32_t>(tokens.size() - 1) : 0);
        tokens.push_back(guess[j]);
      }
    }
    const std::vector<float>& logits = runner.step_tree(tokens, parents);
    ++g.calls;
    auto greedy_after = [&](size_t row) { return static_cast<int32_t>(argmax(std::span<const float>(logits.data() + row * V, V))); };
    // The branch whose prefix greedy decoding reproduces the furthest.
    size_t best = 0, best_branch = 0;
    for (size_t b = 0; b < guesses.size(); ++b) {
      size_t accepted = 0, row = 0;
      while (accepted < guesses[b].size() && guesses[b][accepted] == greedy_after(row)) row = branch_start[b] + accepted++;
      if (accepted > best) best = accepted, best_branch = b;
    }
    path.assign(1, 0);
    for (size_t j = 0; j < best; ++j) path.push_back(branch_start[best_branch] + j);
    runner.accept(path);
    g.accepted_guesses += best;
    const int32_t bonus = greedy_after(path.back());
    for (size_t j = 0; j < best && going; ++j) going = emit(guesses[best_branch][j]);
    if (going) going = emit(bonus);
    next = bonus;
  }
  g.decode_calls = g.tokens.size() - 1;  // tokens decoded after the prompt's call, as Runner::generate counts
  g.decode_seconds = seconds_since(start);
  return g;
}

}  // namespace pte::runtime
