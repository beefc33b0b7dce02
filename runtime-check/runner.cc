#include "runtime-check/runner.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "runtime-check/float_rows.h"

namespace pte::runtime {
namespace {

constexpr float kHidden = -std::numeric_limits<float>::infinity();

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Multifunction methods carry their per-method metadata under a decode_/prefill_ prefix (SPEC §4).
std::string method_key(fb::MethodRole role, const std::string& base) {
  if (role == fb::MethodRole::Decode) return "decode_" + base;
  if (role == fb::MethodRole::Prefill) return "prefill_" + base;
  return base;
}

}  // namespace

size_t argmax(std::span<const float> row) {
  size_t best = 0;
  for (size_t i = 1; i < row.size(); ++i)
    if (row[i] > row[best]) best = i;
  return best;
}

Runner::Runner(const LoadedProgram& program, std::string_view method)
    : program_(program), executor_(program, method) {
  resolve_layout();
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

void Runner::resolve_layout() {
  const auto& ins = executor_.inputs();
  const auto& outs = executor_.outputs();
  const fb::MethodRole role = executor_.method().role();
  const std::string where = "method '" + executor_.name() + "'";
  auto fail = [&](const std::string& what) { program_.fail(where + ": " + what); };
  std::vector<bool> bound(ins.size(), false);

  auto input = [&](int64_t index, fb::IORole expected, const char* what) -> size_t {
    if (index < 0 || static_cast<size_t>(index) >= ins.size())
      fail(std::string(what) + " input index " + std::to_string(index) + " is out of range (" +
           std::to_string(ins.size()) + " inputs)");
    const IoSpec& s = ins[index];
    if (s.role != expected)
      fail(std::string(what) + " input " + std::to_string(index) + " '" + s.name + "' has role " +
           fb::EnumNameIORole(s.role) + ", expected " + fb::EnumNameIORole(expected));
    if (bound[index]) fail("input " + std::to_string(index) + " '" + s.name + "' is bound twice");
    bound[index] = true;
    return static_cast<size_t>(index);
  };
  auto output = [&](int64_t index, fb::IORole expected, const char* what) -> size_t {
    if (index < 0 || static_cast<size_t>(index) >= outs.size())
      fail(std::string(what) + " output index " + std::to_string(index) + " is out of range");
    if (outs[index].role != expected)
      fail(std::string(what) + " output " + std::to_string(index) + " '" + outs[index].name + "' has role " +
           fb::EnumNameIORole(outs[index].role) + ", expected " + fb::EnumNameIORole(expected));
    return static_cast<size_t>(index);
  };
  auto expect_shape = [&](const IoSpec& s, const Shape& shape, bool float_dtype) {
    if (s.shape != shape || is_float(s.dtype) != float_dtype)
      fail("'" + s.name + "' is " + dtype_name(s.dtype) + " " + shape_string(s.shape) + ", expected " +
           (float_dtype ? "a float " : "int32 ") + shape_string(shape));
  };

  // Tokens and logits are found by role; everything else by the metadata's indices.
  for (size_t i = 0; i < ins.size(); ++i)
    if (ins[i].role == fb::IORole::LastValidTokenPos)
      fail("has a last_valid_token_pos input (multifunction); this runner drives methods with full logits");
  auto find_role = [](const std::vector<IoSpec>& specs, fb::IORole role) {
    std::vector<size_t> found;
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].role == role) found.push_back(i);
    return found;
  };
  auto token_inputs = find_role(ins, fb::IORole::Tokens);
  auto logits_outputs = find_role(outs, fb::IORole::Logits);
  if (token_inputs.size() != 1 || logits_outputs.size() != 1)
    fail("expected exactly one Tokens input and one Logits output");
  RunnerLayout& L = layout_;
  L.tokens_input = input(static_cast<int64_t>(token_inputs[0]), fb::IORole::Tokens, "tokens");
  const IoSpec& tokens = ins[L.tokens_input];
  if (tokens.shape.size() != 2 || tokens.shape[0] != 1 || tokens.shape[1] < 1 || tokens.dtype != DType::I32)
    fail("tokens input '" + tokens.name + "' is " + dtype_name(tokens.dtype) + " " + shape_string(tokens.shape) +
         ", expected int32 [1, T]");
  L.input_len = tokens.shape[1];
  const std::string len_key = role != fb::MethodRole::Full ? method_key(role, "input_len")
                              : executor_.name() == "forward"  ? "forward_input_len" : "";
  if (!len_key.empty() && program_.has_metadata(len_key) && program_.metadata_int(len_key) != L.input_len)
    fail("tokens input has T = " + std::to_string(L.input_len) + " but metadata " + len_key + " is " +
         std::to_string(program_.metadata_int(len_key)));

  L.vocab_size = program_.metadata_int("vocab_size");
  L.head_dim = program_.metadata_int("head_dim");
  L.kv_heads = program_.metadata_int("n_heads_per_cache");
  if (L.vocab_size < 1) fail("metadata vocab_size " + std::to_string(L.vocab_size) + " is not positive");

  IntTensorValue mask_specs = program_.metadata_int_tensor(method_key(role, "mask_specs"));
  if (mask_specs.shape != Shape{1, 2})
    fail("metadata mask_specs has shape " + shape_string(mask_specs.shape) + ", expected [1, 2]");
  L.mask_input = input(mask_specs.values[0], fb::IORole::Mask, "mask");
  L.cache_len = mask_specs.values[1];
  if (L.cache_len < 0 || L.cache_len > kMaxTensorElements) fail("mask_specs cache_len is out of range");
  expect_shape(ins[L.mask_input], {1, L.input_len, L.cache_len + L.input_len}, true);

  IntTensorValue kv = program_.metadata_int_tensor(method_key(role, "kv_cache_specs"));
  if (kv.shape.size() != 2 || kv.shape[1] != 5)
    fail("metadata kv_cache_specs has shape " + shape_string(kv.shape) + ", expected [L, 5]");
  if (program_.has_metadata("n_layers") && program_.metadata_int("n_layers") != kv.shape[0])
    fail("metadata kv_cache_specs has " + std::to_string(kv.shape[0]) + " rows but n_layers is " +
         std::to_string(program_.metadata_int("n_layers")));
  const Shape cache_shape = {1, L.kv_heads, L.cache_len, L.head_dim};
  const Shape update_shape = {1, L.kv_heads, L.input_len, L.head_dim};
  for (int64_t l = 0; l < kv.shape[0]; ++l) {
    const int64_t* row = kv.values.data() + l * 5;
    if (row[4] != L.cache_len)
      fail("kv_cache_specs row " + std::to_string(l) + " has cache_len " + std::to_string(row[4]) +
           " but mask_specs has " + std::to_string(L.cache_len));
    RunnerLayout::Layer layer{input(row[0], fb::IORole::KCache, "k cache"), output(row[1], fb::IORole::KUpdate, "k update"),
                              input(row[2], fb::IORole::VCache, "v cache"), output(row[3], fb::IORole::VUpdate, "v update")};
    expect_shape(ins[layer.k_in], cache_shape, true);
    expect_shape(ins[layer.v_in], cache_shape, true);
    expect_shape(outs[layer.k_out], update_shape, true);
    expect_shape(outs[layer.v_out], update_shape, true);
    L.layers.push_back(layer);
  }

  L.cos_input = input(program_.metadata_int("freqs_cos_input_index"), fb::IORole::FreqsCos, "freqs_cos");
  L.sin_input = input(program_.metadata_int("freqs_sin_input_index"), fb::IORole::FreqsSin, "freqs_sin");
  if (L.head_dim < 2 || L.head_dim % 2 != 0) fail("metadata head_dim " + std::to_string(L.head_dim) + " is not even");
  expect_shape(ins[L.cos_input], {L.input_len, L.head_dim / 2}, true);
  expect_shape(ins[L.sin_input], {L.input_len, L.head_dim / 2}, true);
  freqs_cos_table_ = program_.metadata_blob_tensor("freqs_cos");
  freqs_sin_table_ = program_.metadata_blob_tensor("freqs_sin");
  for (const Tensor* table : {&freqs_cos_table_, &freqs_sin_table_})
    if (!is_float(table->dtype) || table->shape.size() != 2 || table->shape[1] != L.head_dim / 2 ||
        table->shape != freqs_cos_table_.shape)
      fail("metadata freqs tables are " + std::string(dtype_name(table->dtype)) + " " + shape_string(table->shape) +
           ", expected float [max_context_len, " + std::to_string(L.head_dim / 2) + "]");
  L.max_context_len = freqs_cos_table_.shape[0];
  if (program_.has_metadata("max_context_len") && program_.metadata_int("max_context_len") != L.max_context_len)
    fail("metadata max_context_len is " + std::to_string(program_.metadata_int("max_context_len")) +
         " but the freqs tables have " + std::to_string(L.max_context_len) + " rows");

  L.logits_output = output(static_cast<int64_t>(logits_outputs[0]), fb::IORole::Logits, "logits");
  const IoSpec& logits = outs[L.logits_output];
  if (logits.shape != Shape{1, L.input_len, L.vocab_size} || !is_float(logits.dtype))
    fail("logits output '" + logits.name + "' is " + dtype_name(logits.dtype) + " " + shape_string(logits.shape) +
         ", expected float [1, " + std::to_string(L.input_len) + ", " + std::to_string(L.vocab_size) +
         "] (vocab_size from metadata)");
  for (size_t i = 0; i < ins.size(); ++i)
    if (!bound[i]) fail("input " + std::to_string(i) + " '" + ins[i].name + "' is not described by the metadata");
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
  if (n < 1 || n > layout_.input_len)
    throw Error("a call takes 1 to " + std::to_string(T) + " tokens, given " + std::to_string(n));
  if (position_ + n > layout_.max_context_len)
    throw Error("position " + std::to_string(position_ + n) + " would exceed max_context_len " +
                std::to_string(layout_.max_context_len) + " of " + program_.path());

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
  if (prompt.empty()) throw Error("the prompt is empty: at least one token is needed");
  if (static_cast<int64_t>(prompt.size()) > layout_.max_context_len)
    throw Error("the prompt has " + std::to_string(prompt.size()) + " tokens, more than max_context_len " +
                std::to_string(layout_.max_context_len) + " of " + program_.path());
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
