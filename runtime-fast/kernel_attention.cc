// attention over [cache ; new] keys, reading the caches where the caller holds them (the
// runner's ring buffers) and visiting only the keys each row's mask leaves visible.
#include <cmath>
#include <limits>

#include "runtime-fast/op_kernels.h"

namespace pte::fast {
namespace {

// Small heads (dim <= 16) are dotted inline: a call per key would cost more than the work.
float small_dot(const float* a, const float* b, size_t n) {
  float sum = 0;
  for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void small_axpy(float a, const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

void attention_kernel(const Step& s, RunContext& c) {
  const runtime::OpAttributes& a = s.node->attributes;
  const Slot& q_slot = c.slot(s.in[0]);
  const size_t tokens = static_cast<size_t>(q_slot.shape[1]);
  const size_t rows = static_cast<size_t>(c.active_rows(q_slot));
  const size_t hq = static_cast<size_t>(a.n_heads), hkv = static_cast<size_t>(a.n_kv_heads);
  const size_t dim = static_cast<size_t>(a.head_dim), cache = static_cast<size_t>(c.slot(s.in[3]).shape[2]);
  const size_t keys = cache + tokens, group = hq / hkv;
  const float scale = std::sqrt(static_cast<float>(dim));
  const float hidden = -std::numeric_limits<float>::infinity();
  const float *q = c.in(s, 0), *k = c.in(s, 1), *v = c.in(s, 2);
  const float *kc = c.in(s, 3), *vc = c.in(s, 4), *mask = c.in(s, 5);
  float* out = c.out(s);
  const bool small = dim <= 16;
  const auto dot = small ? small_dot : c.simd.dot_f32;
  const auto axpy = small ? small_axpy : c.simd.axpy;

  // Per row: the list of visible keys (mask not -inf); the counts follow the T lists.
  uint32_t* visible = c.visible.data();
  uint32_t* counts = visible + tokens * keys;
  for (size_t t = 0; t < rows; ++t) {
    uint32_t* list = visible + t * keys;
    uint32_t n = 0;
    for (size_t j = 0; j < keys; ++j) {  // branch-free: the mask pattern is irregular
      list[n] = static_cast<uint32_t>(j);
      n += mask[t * keys + j] != hidden;
    }
    counts[t] = n;
  }

  const size_t items = hq * rows;
  c.pool.parallel_for(items, items * keys * dim * 2 >= kParallelWork, [&](size_t begin, size_t end, size_t thread) {
    float* p = c.scratch[thread].data();
    for (size_t item = begin; item < end; ++item) {
      const size_t h = item / rows, t = item % rows, g = h / group;
      const float* qv = q + (t * hq + h) * dim;
      const float* mask_row = mask + t * keys;
      const uint32_t* seen = visible + t * keys;
      const size_t n = counts[t];
      float* o = out + (t * hq + h) * dim;
      for (size_t d = 0; d < dim; ++d) o[d] = 0.0f;
      if (n == 0) continue;  // every key hidden: zeros
      float max_score = hidden;
      for (size_t i = 0; i < n; ++i) {
        const size_t j = seen[i];
        const float* key = j < cache ? kc + (g * cache + j) * dim : k + (g * tokens + j - cache) * dim;
        p[i] = dot(qv, key, dim) / scale + mask_row[j];
        if (p[i] > max_score) max_score = p[i];
      }
      if (max_score == hidden) continue;
      float sum = 0.0f;
      for (size_t i = 0; i < n; ++i) {
        p[i] = std::exp(p[i] - max_score);
        sum += p[i];
      }
      for (size_t i = 0; i < n; ++i) {
        const size_t j = seen[i];
        const float* value = j < cache ? vc + (g * cache + j) * dim : v + (g * tokens + j - cache) * dim;
        axpy(p[i] / sum, value, o, dim);
      }
    }
  });
  for (size_t t = 0; t < rows; ++t) c.round(c.slot(s.out).dtype, out + t * hq * dim, hq * dim);
}

}  // namespace pte::fast
