#include "runtime-check/runner.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "runtime-check/float_rows.h"

namespace pte::runtime {
namespace {

constexpr float kHidden = -std::numeric_limits<float>::infinity();

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

size_t argmax(std::span<const float> row) {
  size_t best = 0;
  for (size_t i = 1; i < row.size(); ++i)
    if (row[i] > row[best]) best = i;
  return best;
}

Runner::Runner(const LoadedProgram& program, std::string_view method)
    : program_(program),
      executor_(program, method),
      layout_(resolve_runner_layout(program, executor_)),
      freqs_cos_table_(program.metadata_blob_tensor("freqs_cos")),
      freqs_sin_table_(program.metadata_blob_tensor("freqs_sin")) {
  const auto& in = executor_.inputs();
  tokens_ = Tensor::zeros(DType::I32, in[layout_.tokens_input].shape);
  mask_ = Tensor::zeros(in[layout_.mask_input].dtype, in[layout_.mask_input].shape);
  cos_ = Tensor::zeros(in[layout_.cos_input].dtype, in[layout_.cos_input].shape);
  sin_ = Tensor::zeros(in[layout_.sin_input].dtype, in[layout_.sin_input].shape);
  for (const RunnerLayout::Layer& l : layout_.layers) {
    k_caches_.push_back(Tensor::zeros(in[l.k_in].dtype, in[l.k_in].shape));
    v_caches_.push_back(Tensor::zeros(in[l.v_in].dtype, in[l.v_in].shape));
  }
  reset();
}

void Runner::reset() {
  for (Tensor& t : k_caches_) std::fill(t.floats.begin(), t.floats.end(), 0.0f);
  for (Tensor& t : v_caches_) std::fill(t.floats.begin(), t.floats.end(), 0.0f);
  const size_t T = static_cast<size_t>(layout_.input_len), C = static_cast<size_t>(layout_.cache_len);
  // Cache columns start hidden; the chunk part is causal (row i sees chunk columns <= i).
  for (size_t i = 0; i < T; ++i)
    for (size_t j = 0; j < C + T; ++j)
      mask_.floats[i * (C + T) + j] = (j < C || j - C > i) ? kHidden : 0.0f;
  position_ = 0;
  visible_cache_slots_ = 0;
}

void Runner::fill_freqs(const Tensor& table, Tensor& input) const {
  const size_t T = static_cast<size_t>(layout_.input_len), half = static_cast<size_t>(layout_.head_dim / 2);
  std::vector<float> scratch;
  for (size_t r = 0; r < T; ++r) {
    float* dst = input.floats.data() + r * half;
    int64_t p = position_ + static_cast<int64_t>(r);
    if (p >= layout_.max_context_len) {  // only padding rows can fall past the table
      std::fill(dst, dst + half, 0.0f);
      continue;
    }
    const float* src = read_floats(table, static_cast<size_t>(p) * half, half, scratch);
    for (size_t i = 0; i < half; ++i) dst[i] = round_to_dtype(input.dtype, src[i]);
  }
}

std::vector<float> Runner::step(std::span<const int32_t> tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const size_t T = static_cast<size_t>(layout_.input_len), C = static_cast<size_t>(layout_.cache_len);
  const size_t V = static_cast<size_t>(layout_.vocab_size), D = static_cast<size_t>(layout_.head_dim);
  const size_t H = static_cast<size_t>(layout_.kv_heads);
  const std::string method = "method '" + executor_.name() + "': ";
  if (n < 1 || n > layout_.input_len)
    program_.fail(method + "a call takes 1 to " + std::to_string(T) + " tokens, given " + std::to_string(n));
  if (position_ + n > layout_.max_context_len)
    program_.fail(method + "position " + std::to_string(position_ + n) + " would exceed max_context_len " +
                  std::to_string(layout_.max_context_len));

  for (size_t i = 0; i < T; ++i) tokens_.ints[i] = i < tokens.size() ? tokens[i] : 0;
  for (size_t i = 0; i < T; ++i)
    for (size_t c = 0; c < C; ++c)
      mask_.floats[i * (C + T) + c] = static_cast<int64_t>(c) < visible_cache_slots_ ? 0.0f : kHidden;
  fill_freqs(freqs_cos_table_, cos_);
  fill_freqs(freqs_sin_table_, sin_);

  std::vector<const Tensor*> inputs(executor_.inputs().size(), nullptr);
  inputs[layout_.tokens_input] = &tokens_;
  inputs[layout_.mask_input] = &mask_;
  inputs[layout_.cos_input] = &cos_;
  inputs[layout_.sin_input] = &sin_;
  for (size_t l = 0; l < layout_.layers.size(); ++l) {
    inputs[layout_.layers[l].k_in] = &k_caches_[l];
    inputs[layout_.layers[l].v_in] = &v_caches_[l];
  }
  auto outputs = executor_.run(inputs);

  // New positions j < n go to ring-buffer slot (pos + j) mod C of every cache.
  if (C > 0) {
    for (size_t l = 0; l < layout_.layers.size(); ++l) {
      const std::pair<const Tensor*, Tensor*> pairs[] = {{outputs[layout_.layers[l].k_out].get(), &k_caches_[l]},
                                                         {outputs[layout_.layers[l].v_out].get(), &v_caches_[l]}};
      for (auto [update, cache] : pairs)
        for (size_t h = 0; h < H; ++h)
          for (size_t j = 0; j < static_cast<size_t>(n); ++j) {
            size_t slot = (static_cast<size_t>(position_) + j) % C;
            const float* src = update->floats.data() + (h * T + j) * D;
            float* dst = cache->floats.data() + (h * C + slot) * D;
            for (size_t d = 0; d < D; ++d) dst[d] = round_to_dtype(cache->dtype, src[d]);
          }
    }
  }
  visible_cache_slots_ = std::min<int64_t>(layout_.cache_len, visible_cache_slots_ + n);
  position_ += n;

  const Tensor& logits = *outputs[layout_.logits_output];
  return std::vector<float>(logits.floats.begin(), logits.floats.begin() + static_cast<ptrdiff_t>(n * V));
}

Generation Runner::generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                            const std::function<void(int32_t)>& on_token) {
  if (prompt.empty()) program_.fail("the prompt is empty: at least one token is needed");
  if (static_cast<int64_t>(prompt.size()) > layout_.max_context_len)
    program_.fail("the prompt has " + std::to_string(prompt.size()) + " tokens, more than max_context_len " +
                  std::to_string(layout_.max_context_len));
  reset();
  Generation g;
  const size_t V = static_cast<size_t>(layout_.vocab_size), T = static_cast<size_t>(layout_.input_len);
  auto keep = [&](const std::vector<float>& rows) {
    if (!options.keep_logits) return;
    g.logits.insert(g.logits.end(), rows.begin(), rows.end());
    g.logits_rows += rows.size() / std::max<size_t>(V, 1);
  };

  auto start = std::chrono::steady_clock::now();
  std::vector<float> last;
  for (size_t begin = 0; begin < prompt.size(); begin += T) {
    last = step(prompt.subspan(begin, std::min(T, prompt.size() - begin)));
    keep(last);
  }
  g.prefill_tokens = prompt.size();
  g.prefill_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  g.stop_reason = "max_new_tokens";
  std::span<const float> row(last.data() + last.size() - V, V);
  while (static_cast<int64_t>(g.tokens.size()) < options.max_new_tokens) {
    int32_t next = static_cast<int32_t>(argmax(row));
    g.tokens.push_back(next);
    if (on_token) on_token(next);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) != options.stop_ids.end()) {
      g.stop_reason = "stop_id";
      break;
    }
    if (static_cast<int64_t>(g.tokens.size()) == options.max_new_tokens) break;
    if (position_ >= layout_.max_context_len) {
      g.stop_reason = "context_full";
      break;
    }
    last = step(std::span<const int32_t>(&next, 1));
    keep(last);
    row = std::span<const float>(last.data(), V);
    ++g.decode_calls;
  }
  g.decode_seconds = seconds_since(start);
  return g;
}

}  // namespace pte::runtime
