#include "exporter/program/weight_recipe.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/float16.h"
#include "exporter/checkpoint/checkpoint.h"
#include "exporter/program/quantize.h"

namespace pte {
namespace {

struct StepKey {
  std::string operator()(const CastStep& s) const { return dtype_name(s.to); }
  std::string operator()(const SliceRowsStep& s) const {
    return "rows" + std::to_string(s.begin) + "-" + std::to_string(s.end);
  }
  std::string operator()(const QuantizeStep& s) const {
    return "q" + std::to_string(s.bits) + "g" + std::to_string(s.group);
  }
};

// Rounds float32 values to `to` in place (a no-op for F32), counting fp16 overflows.
void round_in_place(std::vector<float>& v, DType to, WeightStats& stats) {
  if (to != DType::F16) return;
  for (float& x : v) {
    float r = round_to_half(x);
    if (std::isinf(r) && std::isfinite(x)) ++stats.fp16_overflows;
    x = r;
  }
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
  std::string k = source;
  for (const WeightStep& s : steps) k += ":" + std::visit(StepKey{}, s);
  return k;
}

const QuantizeStep* WeightRecipe::quantization() const {
  return steps.empty() ? nullptr : std::get_if<QuantizeStep>(&steps.back());
}

std::vector<std::string> WeightRecipe::blob_keys() const {
  if (quantization()) return {key(), scales_key()};
  return {key()};
}

void compute_weight(const WeightRecipe& recipe, const Checkpoint& checkpoint,
                    std::vector<std::vector<uint8_t>>& out, WeightStats& stats) {
  const TensorView* source = checkpoint.find(recipe.source);
  if (!source) throw Error(checkpoint.path() + ": tensor '" + recipe.source + "' not found");
  TensorView view = *source;  // narrowed by row slices below; still a view, nothing copied
  DType model_dtype = source->dtype;
  for (const WeightStep& s : recipe.steps) {
    if (auto* cast = std::get_if<CastStep>(&s)) {
      model_dtype = cast->to;
    } else if (auto* rows = std::get_if<SliceRowsStep>(&s)) {
      if (view.shape.empty() || rows->begin < 0 || rows->end > view.shape[0] || rows->begin >= rows->end)
        throw Error("internal: recipe " + recipe.key() + " slices outside " + view.shape_string());
      view.offset += rows->begin * view.strides[0];
      view.shape[0] = rows->end - rows->begin;
    }
  }
  if (model_dtype != DType::F32 && model_dtype != DType::F16)
    throw Error("internal: recipe " + recipe.key() + " has no cast to fp16 or fp32");
  const QuantizeStep* quant = recipe.quantization();
  const int64_t numel = view.numel();
  const int64_t rows = view.shape.empty() ? 1 : view.shape[0];
  const int64_t cols = rows ? numel / rows : 0;
  stats.bytes_read += storage_bytes(view.dtype, static_cast<uint64_t>(numel));

  out.assign(quant ? 2 : 1, {});
  if (!quant && view.dtype == model_dtype && view.is_contiguous()) {
    out[0].resize(storage_bytes(model_dtype, static_cast<uint64_t>(numel)));
    view.read_raw(out[0].data());
    checkpoint.release(view);
    return;
  }
  QuantizedLayout layout{quant ? quant->bits : 0, quant ? quant->group : 0, model_dtype};
  if (quant) {
    if (quant->group && cols % quant->group != 0)
      throw Error("internal: recipe " + recipe.key() + " groups do not divide " + std::to_string(cols));
    const int64_t blocks = rows * (quant->group ? cols / quant->group : 1);
    out[0].assign(storage_bytes(quant->bits == 4 ? DType::I4 : DType::I8, static_cast<uint64_t>(numel)), 0);
    out[1].resize(storage_bytes(model_dtype, static_cast<uint64_t>(blocks)));
  } else {
    out[0].resize(storage_bytes(model_dtype, static_cast<uint64_t>(numel)));
  }
  // Work in row blocks so that no float copy of the whole tensor is ever held.
  const int64_t block_rows = std::max<int64_t>(1, (1 << 20) / std::max<int64_t>(cols, 1));
  std::vector<float> buffer;
  TensorView block = view;
  for (int64_t r = 0; r < rows; r += block_rows) {
    const int64_t n = std::min(block_rows, rows - r);
    if (!block.shape.empty()) {
      block.shape[0] = n;
      block.offset = view.offset + r * view.strides[0];
    }
    buffer.resize(static_cast<size_t>(n * cols));
    block.read_f32(buffer.data());
    round_in_place(buffer, model_dtype, stats);
    if (quant)
      quantize_rows(buffer.data(), r, n, cols, layout, out[0].data(), out[1].data());
    else
      encode(buffer, model_dtype, out[0].data() + storage_bytes(model_dtype, static_cast<uint64_t>(r * cols)));
    checkpoint.release(block);
  }
}

}  // namespace pte
