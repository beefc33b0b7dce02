#include "runtime-check/runner.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "runtime-check/float_rows.h"
#include "schema/metadata_keys.h"

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

namespace {

// The methods of the pair named `name`: "forward" -> (prefill, forward), else NAME_prefill, NAME_forward.
std::pair<std::string, std::string> pair_methods(std::string_view name) {
  if (name == "forward") return {"prefill", "forward"};
  return {std::string(name) + "_prefill", std::string(name) + "_forward"};
}

bool has_role(const LoadedProgram& program, const std::string& method, fb::MethodRole role) {
  const fb::Method* m = program.find_method(method);
  return m && m->role() == role;
}

std::string describe_runnable(const std::vector<RunnableMethod>& list) {
  std::string s;
  for (const RunnableMethod& r : list) {
    s += (s.empty() ? "" : ", ") + r.name;
    if (r.full.empty()) s += " (" + r.prefill + " + " + r.decode + ")";
  }
  return s.empty() ? "none" : s;
}

}  // namespace

std::vector<RunnableMethod> runnable_methods(const LoadedProgram& program) {
  std::vector<RunnableMethod> out;
  for (const fb::Method* m : *program.program().methods()) {
    const std::string name(view(m->name()));
    if (m->role() == fb::MethodRole::Full) {
      out.push_back({name, name, "", ""});
    } else if (m->role() == fb::MethodRole::Decode) {
      std::string base;
      if (name == "forward") base = name;
      else if (name.size() > 8 && name.ends_with("_forward")) base = name.substr(0, name.size() - 8);
      else continue;
      auto [prefill, decode] = pair_methods(base);
      // A Full method of the same name takes precedence in the constructor.
      if (has_role(program, prefill, fb::MethodRole::Prefill) && !has_role(program, base, fb::MethodRole::Full))
        out.push_back({base, "", prefill, decode});
    }
  }
  return out;
}

Runner::Bound::Bound(const LoadedProgram& program, std::string_view method)
    : executor(program, method), layout(resolve_runner_layout(program, executor)) {
  const auto& in = executor.inputs();
  tokens = Tensor::zeros(DType::I32, in[layout.tokens_input].shape);
  mask = Tensor::zeros(in[layout.mask_input].dtype, in[layout.mask_input].shape);
  cos = Tensor::zeros(in[layout.cos_input].dtype, in[layout.cos_input].shape);
  sin = Tensor::zeros(in[layout.sin_input].dtype, in[layout.sin_input].shape);
  if (layout.last_pos_input) last_pos = Tensor::zeros(DType::I64, in[*layout.last_pos_input].shape);
}

Runner::Runner(const LoadedProgram& program, std::string_view name)
    : program_(program),
      name_(name),
      freqs_cos_table_(program.metadata_blob_tensor(meta::kFreqsCos)),
      freqs_sin_table_(program.metadata_blob_tensor(meta::kFreqsSin)) {
  auto [prefill, decode] = pair_methods(name);
  if (has_role(program, name_, fb::MethodRole::Full)) {
    primary_ = std::make_unique<Bound>(program, name_);
  } else if (has_role(program, prefill, fb::MethodRole::Prefill) && has_role(program, decode, fb::MethodRole::Decode)) {
    primary_ = std::make_unique<Bound>(program, prefill);
    decode_ = std::make_unique<Bound>(program, decode);
    check_pair();
  } else {
    std::string what = "nothing to run under the name '" + name_ + "'";
    if (const fb::Method* m = program.find_method(name_))
      what = "method '" + name_ + "' is a " + fb::EnumNameMethodRole(m->role()) +
             " method: run its prefill/decode pair by its base or adapter name";
    else if (program.find_method(prefill) || program.find_method(decode))
      what = "'" + name_ + "' needs both a Prefill method '" + prefill + "' and a Decode method '" + decode + "'";
    program.fail(what + "; runnable names: " + describe_runnable(runnable_methods(program)));
  }
  const auto& in = primary_->executor.inputs();
  for (const RunnerLayout::Layer& l : primary_->layout.layers) {
    k_caches_.push_back(Tensor::zeros(in[l.k_in].dtype, in[l.k_in].shape));
    v_caches_.push_back(Tensor::zeros(in[l.v_in].dtype, in[l.v_in].shape));
  }
  reset();
}

Runner::~Runner() = default;

// Both methods read and write the same cache tensors, so their cache inputs must be identical.
void Runner::check_pair() const {
  const RunnerLayout &p = primary_->layout, &d = decode_->layout;
  const std::string pair = "methods '" + primary_->executor.name() + "' and '" + decode_->executor.name() + "'";
  if (p.cache_len != d.cache_len)
    program_.fail(pair + " have cache_len " + std::to_string(p.cache_len) + " and " + std::to_string(d.cache_len) +
                  "; a prefill/decode pair shares one cache (C = max_context_len - 1 for both)");
  if (p.layers.size() != d.layers.size())
    program_.fail(pair + " have " + std::to_string(p.layers.size()) + " and " + std::to_string(d.layers.size()) +
                  " layers of caches");
  const auto &pin = primary_->executor.inputs(), &din = decode_->executor.inputs();
  for (size_t l = 0; l < p.layers.size(); ++l)
    for (auto [a, b] : {std::pair{p.layers[l].k_in, d.layers[l].k_in}, std::pair{p.layers[l].v_in, d.layers[l].v_in}})
      if (pin[a].dtype != din[b].dtype || pin[a].shape != din[b].shape)
        program_.fail(pair + ": cache input '" + pin[a].name + "' is " + dtype_name(pin[a].dtype) + " " +
                      shape_string(pin[a].shape) + " in one and " + dtype_name(din[b].dtype) + " " +
                      shape_string(din[b].shape) + " in the other");
}

std::vector<std::string> Runner::method_names() const {
  std::vector<std::string> names = {primary_->executor.name()};
  if (decode_) names.push_back(decode_->executor.name());
  return names;
}

size_t Runner::calls(std::string_view method) const {
  size_t n = 0;
  for (const Bound* b : {primary_.get(), decode_.get()})
    if (b && b->executor.name() == method) n += b->calls;
  return n;
}

const std::string& Runner::last_method() const {
  static const std::string none;
  return last_ ? last_->executor.name() : none;
}

void Runner::reset_mask(Bound& b) const {
  const size_t T = static_cast<size_t>(b.layout.input_len), C = static_cast<size_t>(b.layout.cache_len);
  // Cache columns start hidden; the chunk part is causal (row i sees chunk columns <= i).
  for (size_t i = 0; i < T; ++i)
    for (size_t j = 0; j < C + T; ++j)
      b.mask.floats[i * (C + T) + j] = (j < C || j - C > i) ? kHidden : 0.0f;
}

void Runner::reset() {
  for (Tensor& t : k_caches_) std::fill(t.floats.begin(), t.floats.end(), 0.0f);
  for (Tensor& t : v_caches_) std::fill(t.floats.begin(), t.floats.end(), 0.0f);
  reset_mask(*primary_);
  if (decode_) reset_mask(*decode_);
  position_ = 0;
  visible_cache_slots_ = 0;
  last_ = nullptr;
}

void Runner::fill_freqs(const Bound& b, const Tensor& table, Tensor& input) const {
  const size_t T = static_cast<size_t>(b.layout.input_len), half = static_cast<size_t>(b.layout.head_dim / 2);
  std::vector<float> scratch;
  for (size_t r = 0; r < T; ++r) {
    float* dst = input.floats.data() + r * half;
    int64_t p = position_ + static_cast<int64_t>(r);
    if (p >= b.layout.max_context_len) {  // only padding rows can fall past the table
      std::fill(dst, dst + half, 0.0f);
      continue;
    }
    const float* src = read_floats(table, static_cast<size_t>(p) * half, half, scratch);
    for (size_t i = 0; i < half; ++i) dst[i] = round_to_dtype(input.dtype, src[i]);
  }
}

std::vector<float> Runner::step(std::span<const int32_t> tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  // A pair: one token goes to decode, a chunk of several to prefill.
  Bound& b = decode_ && n == 1 ? *decode_ : *primary_;
  const RunnerLayout& layout = b.layout;
  const size_t T = static_cast<size_t>(layout.input_len), C = static_cast<size_t>(layout.cache_len);
  const size_t V = static_cast<size_t>(layout.vocab_size), D = static_cast<size_t>(layout.head_dim);
  const size_t H = static_cast<size_t>(layout.kv_heads);
  const std::string method = "method '" + b.executor.name() + "': ";
  if (n < 1 || n > layout.input_len)
    program_.fail(method + "a call takes 1 to " + std::to_string(T) + " tokens, given " + std::to_string(n));
  if (position_ + n > layout.max_context_len)
    program_.fail(method + "position " + std::to_string(position_ + n) + " would exceed max_context_len " +
                  std::to_string(layout.max_context_len));

  for (size_t i = 0; i < T; ++i) b.tokens.ints[i] = i < tokens.size() ? tokens[i] : 0;
  for (size_t i = 0; i < T; ++i)
    for (size_t c = 0; c < C; ++c)
      b.mask.floats[i * (C + T) + c] = static_cast<int64_t>(c) < visible_cache_slots_ ? 0.0f : kHidden;
  fill_freqs(b, freqs_cos_table_, b.cos);
  fill_freqs(b, freqs_sin_table_, b.sin);
  if (layout.last_pos_input) b.last_pos.ints[0] = n - 1;

  std::vector<const Tensor*> inputs(b.executor.inputs().size(), nullptr);
  inputs[layout.tokens_input] = &b.tokens;
  inputs[layout.mask_input] = &b.mask;
  inputs[layout.cos_input] = &b.cos;
  inputs[layout.sin_input] = &b.sin;
  if (layout.last_pos_input) inputs[*layout.last_pos_input] = &b.last_pos;
  for (size_t l = 0; l < layout.layers.size(); ++l) {
    inputs[layout.layers[l].k_in] = &k_caches_[l];
    inputs[layout.layers[l].v_in] = &v_caches_[l];
  }
  auto outputs = b.executor.run(inputs);
  ++b.calls;
  last_ = &b;

  // New positions j < n go to ring-buffer slot (pos + j) mod C of every cache.
  if (C > 0) {
    for (size_t l = 0; l < layout.layers.size(); ++l) {
      const std::pair<const Tensor*, Tensor*> pairs[] = {{outputs[layout.layers[l].k_out].get(), &k_caches_[l]},
                                                         {outputs[layout.layers[l].v_out].get(), &v_caches_[l]}};
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
  visible_cache_slots_ = std::min<int64_t>(layout.cache_len, visible_cache_slots_ + n);
  position_ += n;

  const Tensor& logits = *outputs[layout.logits_output];
  const size_t rows = layout.last_pos_input ? 1 : static_cast<size_t>(n);
  return std::vector<float>(logits.floats.begin(), logits.floats.begin() + static_cast<ptrdiff_t>(rows * V));
}

Generation Runner::generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                            const std::function<void(int32_t)>& on_token) {
  if (prompt.empty()) program_.fail("the prompt is empty: at least one token is needed");
  if (static_cast<int64_t>(prompt.size()) > layout().max_context_len)
    program_.fail("the prompt has " + std::to_string(prompt.size()) + " tokens, more than max_context_len " +
                  std::to_string(layout().max_context_len));
  reset();
  Generation g;
  const size_t V = static_cast<size_t>(layout().vocab_size);
  // Methods returning one row per call get the prompt one token per call when every row is kept.
  const size_t T = options.keep_logits && layout().last_pos_input ? 1 : static_cast<size_t>(layout().input_len);
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
    if (position_ >= layout().max_context_len) {
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
