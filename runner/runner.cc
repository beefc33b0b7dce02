#include "runner/runner.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "runtime-load/float_rows.h"
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

Runner::Bound::Bound(const LoadedProgram& program, std::string_view method, const ExecutorOptions& options,
                     const std::shared_ptr<ExecutorResources>& resources)
    : backend(make_method_backend(program, method, options, resources)),
      layout(resolve_runner_layout(program, backend->graph())) {
  const auto& in = backend->graph().inputs();
  tokens = Tensor::zeros(DType::I32, in[layout.tokens_input].shape);
  mask = Tensor::zeros(in[layout.mask_input].dtype, in[layout.mask_input].shape);
  cos = Tensor::zeros(in[layout.cos_input].dtype, in[layout.cos_input].shape);
  sin = Tensor::zeros(in[layout.sin_input].dtype, in[layout.sin_input].shape);
  if (layout.last_pos_input) last_pos = Tensor::zeros(DType::I64, in[*layout.last_pos_input].shape);
}

Runner::Runner(const LoadedProgram& program, std::string_view name, const ExecutorOptions& executor)
    : program_(program),
      name_(name),
      executor_(executor),
      resources_(make_executor_resources(executor)),
      freqs_cos_table_(program.metadata_blob_tensor(meta::kFreqsCos)),
      freqs_sin_table_(program.metadata_blob_tensor(meta::kFreqsSin)) {
  auto [prefill, decode] = pair_methods(name);
  if (has_role(program, name_, fb::MethodRole::Full)) {
    primary_ = std::make_unique<Bound>(program, name_, executor_, resources_);
  } else if (has_role(program, prefill, fb::MethodRole::Prefill) && has_role(program, decode, fb::MethodRole::Decode)) {
    primary_ = std::make_unique<Bound>(program, prefill, executor_, resources_);
    decode_ = std::make_unique<Bound>(program, decode, executor_, resources_);
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
  const auto& in = primary_->backend->graph().inputs();
  for (const RunnerLayout::Layer& l : primary_->layout.layers) {
    k_caches_.push_back(Tensor::zeros(in[l.k_in].dtype, in[l.k_in].shape));
    v_caches_.push_back(Tensor::zeros(in[l.v_in].dtype, in[l.v_in].shape));
  }
  for (Bound* b : {primary_.get(), decode_.get()}) {
    if (!b) continue;
    const RunnerLayout& layout = b->layout;
    b->inputs.assign(b->backend->graph().inputs().size(), nullptr);
    b->inputs[layout.tokens_input] = &b->tokens;
    b->inputs[layout.mask_input] = &b->mask;
    b->inputs[layout.cos_input] = &b->cos;
    b->inputs[layout.sin_input] = &b->sin;
    if (layout.last_pos_input) b->inputs[*layout.last_pos_input] = &b->last_pos;
    for (size_t l = 0; l < layout.layers.size(); ++l) {
      b->inputs[layout.layers[l].k_in] = &k_caches_[l];
      b->inputs[layout.layers[l].v_in] = &v_caches_[l];
    }
  }
  depths_.assign(static_cast<size_t>(primary_->layout.input_len), 0);
  reset();
}

Runner::~Runner() = default;

// Both methods read and write the same cache tensors, so their cache inputs must be identical.
void Runner::check_pair() const {
  const RunnerLayout &p = primary_->layout, &d = decode_->layout;
  const std::string pair = "methods '" + primary_->name() + "' and '" + decode_->name() + "'";
  if (p.cache_len != d.cache_len)
    program_.fail(pair + " have cache_len " + std::to_string(p.cache_len) + " and " + std::to_string(d.cache_len) +
                  "; a prefill/decode pair shares one cache (C = max_context_len - 1 for both)");
  if (p.layers.size() != d.layers.size())
    program_.fail(pair + " have " + std::to_string(p.layers.size()) + " and " + std::to_string(d.layers.size()) +
                  " layers of caches");
  const auto &pin = primary_->backend->graph().inputs(), &din = decode_->backend->graph().inputs();
  for (size_t l = 0; l < p.layers.size(); ++l)
    for (auto [a, b] : {std::pair{p.layers[l].k_in, d.layers[l].k_in}, std::pair{p.layers[l].v_in, d.layers[l].v_in}})
      if (pin[a].dtype != din[b].dtype || pin[a].shape != din[b].shape)
        program_.fail(pair + ": cache input '" + pin[a].name + "' is " + dtype_name(pin[a].dtype) + " " +
                      shape_string(pin[a].shape) + " in one and " + dtype_name(din[b].dtype) + " " +
                      shape_string(din[b].shape) + " in the other");
}

std::vector<std::string> Runner::method_names() const {
  std::vector<std::string> names = {primary_->name()};
  if (decode_) names.push_back(decode_->name());
  return names;
}

size_t Runner::calls(std::string_view method) const {
  size_t n = 0;
  for (const Bound* b : {primary_.get(), decode_.get()})
    if (b && b->name() == method) n += b->calls;
  return n;
}

const std::string& Runner::last_method() const {
  static const std::string none;
  return last_ ? last_->name() : none;
}

void Runner::reset_mask(Bound& b) const {
  b.visible_columns = 0;
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
  tree_rows_ = 0;
}

void Runner::fill_freqs(const Bound& b, const Tensor& table, Tensor& input) {
  const size_t T = static_cast<size_t>(b.layout.input_len), half = static_cast<size_t>(b.layout.head_dim / 2);
  std::vector<float>& scratch = freqs_scratch_;
  for (size_t r = 0; r < T; ++r) {
    float* dst = input.floats.data() + r * half;
    int64_t p = position_ + depths_[r];
    if (p >= b.layout.max_context_len) {  // only padding rows can fall past the table
      std::fill(dst, dst + half, 0.0f);
      continue;
    }
    const float* src = read_floats(table, static_cast<size_t>(p) * half, half, scratch);
    for (size_t i = 0; i < half; ++i) dst[i] = round_to_dtype(input.dtype, src[i]);
  }
}

std::span<const std::span<const float>> Runner::call(Bound& b, std::span<const int32_t> tokens,
                                                     std::span<const int32_t> parents) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const RunnerLayout& layout = b.layout;
  const size_t T = static_cast<size_t>(layout.input_len), C = static_cast<size_t>(layout.cache_len);
  auto method = [&] { return "method '" + b.name() + "': "; };  // built only for an error
  if (n < 1 || n > layout.input_len)
    program_.fail(method() + "a call takes 1 to " + std::to_string(T) + " tokens, given " + std::to_string(n));
  // Row r sits at position + depth(r): r itself in a chain, its number of ancestors in a tree.
  int64_t deepest = n - 1;
  for (size_t r = 0; r < T; ++r) depths_[r] = static_cast<int64_t>(r);
  if (!parents.empty()) {
    deepest = 0;
    for (size_t r = 1; r < static_cast<size_t>(n); ++r) {
      const int32_t p = parents[r];
      if (p < 0 || static_cast<size_t>(p) >= r) program_.fail(method() + "tree row " + std::to_string(r) + " has parent " + std::to_string(p));
      depths_[r] = depths_[static_cast<size_t>(p)] + 1;
      deepest = std::max(deepest, depths_[r]);
    }
  }
  if (position_ + deepest + 1 > layout.max_context_len)
    program_.fail(method() + "position " + std::to_string(position_ + deepest + 1) + " would exceed max_context_len " +
                  std::to_string(layout.max_context_len));

  for (size_t i = 0; i < T; ++i) b.tokens.ints[i] = i < tokens.size() ? tokens[i] : 0;
  // Cache columns only ever become visible (until a reset): unmask the new ones.
  for (size_t i = 0; i < T; ++i)
    for (int64_t c = b.visible_columns; c < visible_cache_slots_; ++c) b.mask.floats[i * (C + T) + static_cast<size_t>(c)] = 0.0f;
  b.visible_columns = visible_cache_slots_;
  if (!parents.empty())  // row r sees the chunk rows on its path from row 0
    for (size_t r = 0; r < static_cast<size_t>(n); ++r) {
      float* row = b.mask.floats.data() + r * (C + T) + C;
      std::fill(row, row + T, kHidden);
      for (int64_t a = static_cast<int64_t>(r); a >= 0; a = a ? parents[static_cast<size_t>(a)] : -1) row[a] = 0.0f;
    }
  fill_freqs(b, freqs_cos_table_, b.cos);
  fill_freqs(b, freqs_sin_table_, b.sin);
  if (layout.last_pos_input) b.last_pos.ints[0] = n - 1;

  const auto outputs = b.backend->run(b.inputs, n);
  ++b.calls;
  last_ = &b;
  if (!parents.empty())  // back to the causal chunk part
    for (size_t r = 0; r < static_cast<size_t>(n); ++r)
      for (size_t j = 0; j < T; ++j) b.mask.floats[r * (C + T) + C + j] = j > r ? kHidden : 0.0f;
  return outputs;
}

void Runner::commit(const Bound& b, std::span<const std::span<const float>> outputs, size_t count, const size_t* rows) {
  const RunnerLayout& layout = b.layout;
  const size_t T = static_cast<size_t>(layout.input_len), C = static_cast<size_t>(layout.cache_len);
  const size_t D = static_cast<size_t>(layout.head_dim), H = static_cast<size_t>(layout.kv_heads);
  // New position j (row rows[j], or j) goes to ring-buffer slot (pos + j) mod C of every cache.
  if (C > 0) {
    for (size_t l = 0; l < layout.layers.size(); ++l) {
      const std::pair<const float*, Tensor*> pairs[] = {{outputs[layout.layers[l].k_out].data(), &k_caches_[l]},
                                                        {outputs[layout.layers[l].v_out].data(), &v_caches_[l]}};
      for (auto [update, cache] : pairs)
        for (size_t h = 0; h < H; ++h)
          for (size_t j = 0; j < count; ++j) {
            size_t slot = (static_cast<size_t>(position_) + j) % C;
            const float* src = update + (h * T + (rows ? rows[j] : j)) * D;
            float* dst = cache->floats.data() + (h * C + slot) * D;
            for (size_t d = 0; d < D; ++d) dst[d] = round_to_dtype(cache->dtype, src[d]);
          }
    }
  }
  visible_cache_slots_ = std::min<int64_t>(layout.cache_len, visible_cache_slots_ + static_cast<int64_t>(count));
  position_ += static_cast<int64_t>(count);
}

const std::vector<float>& Runner::step(std::span<const int32_t> tokens) {
  // A pair: one token goes to decode, a chunk of several to prefill.
  Bound& b = decode_ && tokens.size() == 1 ? *decode_ : *primary_;
  const auto outputs = call(b, tokens, {});
  commit(b, outputs, tokens.size(), nullptr);
  const float* logits = outputs[b.layout.logits_output].data();
  const size_t rows = b.layout.last_pos_input ? 1 : tokens.size();
  logits_.assign(logits, logits + rows * static_cast<size_t>(b.layout.vocab_size));
  return logits_;
}

const std::vector<float>& Runner::step_tree(std::span<const int32_t> tokens, std::span<const int32_t> parents) {
  if (decode_ || layout().last_pos_input)
    program_.fail("method '" + primary_->name() + "' returns one logits row per call: a token tree needs a Full method "
                  "with the logits of every position (a single-method export)");
  if (parents.size() != tokens.size() || parents.empty() || parents[0] != -1)
    program_.fail("a token tree gives one parent per token, -1 for row 0 only");
  tree_outputs_ = call(*primary_, tokens, parents);
  tree_rows_ = tokens.size();
  tree_parents_.assign(parents.begin(), parents.end());
  const float* logits = tree_outputs_[primary_->layout.logits_output].data();
  logits_.assign(logits, logits + tokens.size() * static_cast<size_t>(primary_->layout.vocab_size));
  return logits_;
}

void Runner::accept(std::span<const size_t> path) {
  const std::vector<int32_t>& parents = tree_parents_;
  if (tree_rows_ == 0) program_.fail("accept: no token tree to accept from (step_tree first, once)");
  if (path.empty() || path[0] != 0) program_.fail("accept: a path starts at row 0");
  for (size_t j = 1; j < path.size(); ++j)
    if (path[j] >= tree_rows_ || parents[path[j]] != static_cast<int32_t>(path[j - 1]))
      program_.fail("accept: row " + std::to_string(path[j]) + " does not follow row " + std::to_string(path[j - 1]));
  commit(*primary_, tree_outputs_, path.size(), path.data());
  tree_rows_ = 0;
}

Generation Runner::generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                            const TokenCallback& on_token) {
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
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) != options.stop_ids.end()) {
      if (on_token) on_token(next);
      g.stop_reason = "stop_id";
      break;
    }
    if (on_token && !on_token(next)) {
      g.stop_reason = "callback";
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
