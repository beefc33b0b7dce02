#include "exporter/program/weight_recipe.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/float16.h"
#include "exporter/checkpoint/checkpoint.h"

namespace pte {
namespace {

struct StepKey {
  std::string operator()(const CastStep& s) const { return dtype_name(s.to); }
  std::string operator()(const SliceRowsStep& s) const {
    return "rows" + std::to_string(s.begin) + "-" + std::to_string(s.end);
  }
};

// Converts float32 values to `to`, appending to `out`.
void encode(const float* src, size_t n, DType to, uint8_t* dst, WeightStats& stats) {
  if (to == DType::F32) {
    std::memcpy(dst, src, n * 4);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    uint16_t h = float_to_half(src[i]);
    if ((h & 0x7fffu) == 0x7c00u && std::isfinite(src[i])) ++stats.fp16_overflows;
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

}  // namespace

std::string WeightRecipe::key() const {
  std::string k = source;
  for (const WeightStep& s : steps) k += ":" + std::visit(StepKey{}, s);
  return k;
}

void compute_weight(const WeightRecipe& recipe, const Checkpoint& checkpoint,
                    std::vector<uint8_t>& out, WeightStats& stats) {
  const TensorView* source = checkpoint.find(recipe.source);
  if (!source) throw Error(checkpoint.path() + ": tensor '" + recipe.source + "' not found");
  TensorView view = *source;  // narrowed by row slices below; still a view, nothing copied
  DType to = source->dtype;
  for (const WeightStep& s : recipe.steps) {
    if (auto* cast = std::get_if<CastStep>(&s)) {
      to = cast->to;
    } else {
      const auto& rows = std::get<SliceRowsStep>(s);
      if (view.shape.empty() || rows.begin < 0 || rows.end > view.shape[0] || rows.begin >= rows.end)
        throw Error("internal: recipe " + recipe.key() + " slices outside " + view.shape_string());
      view.offset += rows.begin * view.strides[0];
      view.shape[0] = rows.end - rows.begin;
    }
  }
  if (to != recipe.dtype || (to != DType::F32 && to != DType::F16))
    throw Error("internal: recipe " + recipe.key() + " does not produce " + dtype_name(recipe.dtype));

  const int64_t numel = view.numel();
  out.resize(storage_bytes(to, static_cast<uint64_t>(numel)));
  stats.bytes_read += storage_bytes(view.dtype, static_cast<uint64_t>(numel));
  if (view.dtype == to && view.is_contiguous()) {
    view.read_raw(out.data());
    return;
  }
  // Convert in row blocks so that no float copy of the whole tensor is ever held.
  const int64_t rows = view.shape.empty() ? 1 : view.shape[0];
  const int64_t row_elems = rows ? numel / rows : 0;
  const int64_t block_rows = std::max<int64_t>(1, (1 << 20) / std::max<int64_t>(row_elems, 1));
  std::vector<float> buffer;
  TensorView block = view;
  for (int64_t r = 0; r < rows; r += block_rows) {
    int64_t n = std::min(block_rows, rows - r);
    if (!block.shape.empty()) {
      block.shape[0] = n;
      block.offset = view.offset + r * view.strides[0];
    }
    buffer.resize(static_cast<size_t>(n * row_elems));
    block.read_f32(buffer.data());
    encode(buffer.data(), buffer.size(), to,
           out.data() + storage_bytes(to, static_cast<uint64_t>(r * row_elems)), stats);
  }
}

}  // namespace pte
