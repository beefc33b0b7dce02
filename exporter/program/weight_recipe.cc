#include "exporter/program/weight_recipe.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "common/error.h"
#include "common/float16.h"
#include "common/vector_clones.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/program/gptq.h"
#include "exporter/program/quantize.h"
#include "exporter/program/scale_search.h"
#include "exporter/program/quantize_kernels.h"

namespace pte {
namespace {

// Appends a step's part of a structural key (built by appends: GCC 12 warns, wrongly, on
// "literal" + std::to_string(...)).
struct StepKey {
  std::string& key;
  void operator()(const CastStep& s) const { key.append(dtype_name(s.to)); }
  void operator()(const SliceRowsStep& s) const {
    key.append("rows").append(std::to_string(s.begin)).append("-").append(std::to_string(s.end));
  }
  void operator()(const RotateHalfToInterleavedStep& s) const {
    key.append("interleave").append(std::to_string(s.head_dim));
  }
  void operator()(const QuantizeStep& s) const {
    key.append("q").append(std::to_string(s.bits)).append("g").append(std::to_string(s.group));
    if (s.hessian) key.append("gptq");
    else if (s.search) key.append(s.importance ? "mse_w" : "mse");
  }
};

// Rounds float32 values to fp16 in place; returns how many finite values became infinite
// (magnitudes from 65520 up, which round past fp16's largest value 65504).
PTE_VECTOR_CLONES uint64_t round_to_half_in_place(float* v, size_t n) {
  uint32_t overflows = 0;
  for (size_t i = 0; i < n; ++i) {
    const int32_t magnitude = static_cast<int32_t>(float_bits(v[i]) & 0x7fffffffu);
    overflows += (magnitude >= 0x477ff000) & (magnitude < 0x7f800000);
    v[i] = round_to_half_fast(v[i]);
  }
  return overflows;
}

// Rounds float32 values to `to` in place (a no-op for F32), counting fp16 overflows.
void round_in_place(std::vector<float>& v, DType to, WeightStats& stats) {
  if (to == DType::F16) stats.fp16_overflows += round_to_half_in_place(v.data(), v.size());
}

void encode(const std::vector<float>& v, DType to, uint8_t* dst) {
  if (to == DType::F32) {
    std::memcpy(dst, v.data(), v.size() * 4);
    return;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    uint16_t h = float_to_half(v[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

}  // namespace

std::string WeightRecipe::key() const {
  std::string k = checkpoint.empty() ? "" : "adapter." + checkpoint + ".";
  k += name.empty() ? source : name;
  for (const WeightStep& s : steps) {
    k += ':';
    std::visit(StepKey{k}, s);
  }
  return k;
}

const QuantizeStep* WeightRecipe::quantization() const {
  return steps.empty() ? nullptr : std::get_if<QuantizeStep>(&steps.back());
}

std::vector<std::string> WeightRecipe::blob_keys() const {
  if (quantization()) return {key(), scales_key()};
  return {key()};
}

const Checkpoint& CheckpointSet::get(const std::string& name) const {
  if (name.empty()) return *base;
  auto it = adapters.find(name);
  if (it == adapters.end()) throw Error("internal: no checkpoint for adapter '" + name + "'");
  return *it->second;
}

RowPlan plan_rows(const WeightRecipe& recipe, const TensorView& source) {
  // Row steps build the list of source rows, in output order; nothing is read.
  const int64_t source_rows = source.shape.empty() ? 1 : source.shape[0];
  RowPlan plan;
  std::vector<int64_t>& rows = plan.rows;
  rows.resize(static_cast<size_t>(source_rows));
  for (int64_t r = 0; r < source_rows; ++r) rows[r] = r;
  plan.model_dtype = source.dtype;
  for (const WeightStep& s : recipe.steps) {
    if (auto* cast = std::get_if<CastStep>(&s)) {
      plan.model_dtype = cast->to;
    } else if (auto* slice = std::get_if<SliceRowsStep>(&s)) {
      if (slice->begin < 0 || slice->end > static_cast<int64_t>(rows.size()) || slice->begin >= slice->end)
        throw Error("internal: recipe " + recipe.key() + " slices outside " + source.shape_string());
      rows = std::vector<int64_t>(rows.begin() + slice->begin, rows.begin() + slice->end);
    } else if (auto* interleave = std::get_if<RotateHalfToInterleavedStep>(&s)) {
      const int64_t d = interleave->head_dim;
      if (d <= 0 || d % 2 || rows.size() % static_cast<size_t>(d))
        throw Error("internal: recipe " + recipe.key() + " cannot interleave " + std::to_string(rows.size()) + " rows");
      std::vector<int64_t> meta(rows.size());
      for (size_t h = 0; h < rows.size(); h += static_cast<size_t>(d))
        for (int64_t i = 0; i < d / 2; ++i) {
          meta[h + 2 * i] = rows[h + i];
          meta[h + 2 * i + 1] = rows[h + i + d / 2];
        }
      rows = std::move(meta);
    }
  }
  return plan;
}

void compute_weight(const WeightRecipe& recipe, const CheckpointSet& checkpoints,
                    std::vector<std::vector<uint8_t>>& out, WeightStats& stats) {
  const Checkpoint& checkpoint = checkpoints.get(recipe.checkpoint);
  const TensorView* source = checkpoint.find(recipe.source);
  if (!source) throw Error(checkpoint.path() + ": tensor '" + recipe.source + "' not found");
  const RowPlan plan = plan_rows(recipe, *source);
  const std::vector<int64_t>& rows = plan.rows;
  const DType model_dtype = plan.model_dtype;
  const int64_t source_rows = source->shape.empty() ? 1 : source->shape[0];
  if (model_dtype != DType::F32 && model_dtype != DType::F16)
    throw Error("internal: recipe " + recipe.key() + " has no cast to fp16 or fp32");
  const QuantizeStep* quant = recipe.quantization();
  const int64_t n_rows = static_cast<int64_t>(rows.size());
  const int64_t cols = source_rows ? source->numel() / source_rows : 0;
  const int64_t numel = n_rows * cols;
  stats.bytes_read += storage_bytes(source->dtype, static_cast<uint64_t>(numel));

  // Consecutive output rows that are consecutive source rows are read as one block view.
  auto view_of = [&](int64_t first, int64_t count) {
    TensorView v = *source;
    if (!v.shape.empty()) {
      v.offset = source->offset + rows[first] * source->strides[0];
      v.shape[0] = count;
    }
    return v;
  };
  auto run_length = [&](int64_t first, int64_t limit) {
    int64_t n = 1;
    while (first + n < limit && rows[first + n] == rows[first] + n) ++n;
    return n;
  };

  out.resize(quant ? 2 : 1);  // buffers given by the caller keep their memory (buffer_pool.h)
  for (std::vector<uint8_t>& b : out) b.clear();
  if (!quant && source->dtype == model_dtype && run_length(0, n_rows) == n_rows) {
    TensorView v = view_of(0, n_rows);
    if (v.is_contiguous()) {
      out[0].resize(storage_bytes(model_dtype, static_cast<uint64_t>(numel)));
      v.read_raw(out[0].data());
      checkpoint.release(v);
      return;
    }
  }
  QuantizedLayout layout{quant ? quant->bits : 0, quant ? quant->group : 0, model_dtype};
  ScaleSearch search{layout.bits, model_dtype, nullptr};
  if (quant && quant->search) {
    if (quant->importance) {
      if (static_cast<int64_t>(quant->importance->size()) != cols)
        throw Error("internal: recipe " + recipe.key() + " has " + std::to_string(quant->importance->size()) +
                    " importances for " + std::to_string(cols) + " columns");
      search.importance = quant->importance->data();
    }
    layout.search = &search;
  }
  std::optional<GptqFactors> gptq;
  if (quant && quant->hessian) gptq.emplace(*quant->hessian, checkpoint.path() + ": tensor '" + recipe.source + "'");
  if (quant) {
    if (quant->group && cols % quant->group != 0)
      throw Error("internal: recipe " + recipe.key() + " groups do not divide " + std::to_string(cols));
    const int64_t blocks = n_rows * (quant->group ? cols / quant->group : 1);
    out[0].assign(storage_bytes(quant->bits == 4 ? DType::I4 : DType::I8, static_cast<uint64_t>(numel)), 0);
    out[1].resize(storage_bytes(model_dtype, static_cast<uint64_t>(blocks)));
  } else {
    out[0].resize(storage_bytes(model_dtype, static_cast<uint64_t>(numel)));
  }
  // Work in row blocks of about 64K values, so that no float copy of the whole tensor is ever
  // held and each block stays in the core's cache between conversion, rounding and quantizing.
  const int64_t block_rows = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(cols, 1));
  std::vector<float> buffer;
  for (int64_t r = 0; r < n_rows;) {
    const int64_t n = run_length(r, std::min(n_rows, r + block_rows));
    TensorView block = view_of(r, n);
    if (quant && !layout.search && !gptq && block.is_contiguous() && is_float(block.dtype)) {
      // Cast, rounding and quantization fused, straight from the checkpoint's bytes (the scale
      // search has its own loop). On inf or nan the general path below counts the overflows and
      // reports the block.
      const uint8_t* src = block.storage + static_cast<size_t>(block.offset) * element_size(block.dtype);
      if (quantize_source_rows(src, block.dtype, r, n, cols, layout, out[0].data(), out[1].data())) {
        checkpoint.release(block);
        r += n;
        continue;
      }
    }
    buffer.resize(static_cast<size_t>(n * cols));
    block.read_f32(buffer.data());
    round_in_place(buffer, model_dtype, stats);
    if (!quant) {
      encode(buffer, model_dtype, out[0].data() + storage_bytes(model_dtype, static_cast<uint64_t>(r * cols)));
    } else if (!(gptq ? gptq_quantize_rows(buffer.data(), r, n, cols, layout, *gptq, out[0].data(), out[1].data())
                      : quantize_rows(buffer.data(), r, n, cols, layout, out[0].data(), out[1].data()))) {
      throw Error(checkpoint.path() + ": tensor '" + recipe.source + "' holds inf or nan in rows " +
                  std::to_string(rows[r]) + ".." + std::to_string(rows[r + n - 1]) + " (after the cast to " +
                  dtype_name(model_dtype) + "); it cannot be quantized");
    }
    checkpoint.release(block);
    r += n;
  }
  // Once more for the rows' whole span: pages the kernel mapped again around later faults go too.
  if (n_rows > 0 && !source->shape.empty() && source->is_contiguous()) {
    const auto [lo, hi] = std::minmax_element(rows.begin(), rows.end());
    TensorView span = *source;
    span.offset = source->offset + *lo * source->strides[0];
    span.shape[0] = *hi - *lo + 1;
    checkpoint.release(span);
  }
}

}  // namespace pte
