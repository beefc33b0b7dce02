#include <cmath>
#include <limits>
#include <vector>

#include "runtime-check/dot.h"
#include "runtime-load/float_rows.h"
#include "runtime-check/kernels.h"
#include "runtime-check/parallel.h"

namespace pte::runtime {
namespace {

constexpr float kHidden = -std::numeric_limits<float>::infinity();

}  // namespace

void attention(const AttentionInputs& in, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
               Tensor& out) {
  const size_t tokens = static_cast<size_t>(in.q.shape[1]);
  const size_t hq = static_cast<size_t>(n_heads), hkv = static_cast<size_t>(n_kv_heads);
  const size_t dim = static_cast<size_t>(head_dim), cache = static_cast<size_t>(in.k_cache.shape[2]);
  const size_t keys = cache + tokens, group = hq / hkv;
  const float scale = std::sqrt(static_cast<float>(dim));

  std::vector<float> sq, sk, sv, skc, svc, sm;
  const float* q = read_floats(in.q, 0, tokens * hq * dim, sq);
  const float* k = read_floats(in.k, 0, hkv * tokens * dim, sk);
  const float* v = read_floats(in.v, 0, hkv * tokens * dim, sv);
  const float* kc = read_floats(in.k_cache, 0, hkv * cache * dim, skc);
  const float* vc = read_floats(in.v_cache, 0, hkv * cache * dim, svc);
  const float* mask = read_floats(in.mask, 0, tokens * keys, sm);

  // A hidden key (mask -inf) has probability exactly 0 whatever q·k is, so each row only
  // visits its visible keys; with a mostly empty cache that is most of the work saved.
  std::vector<std::vector<uint32_t>> visible(tokens);
  for (size_t t = 0; t < tokens; ++t) {
    std::vector<uint32_t>& list = visible[t];
    list.resize(keys);
    size_t n = 0;
    for (size_t j = 0; j < keys; ++j) {  // branch-free: the mask pattern is irregular
      list[n] = static_cast<uint32_t>(j);
      n += mask[t * keys + j] != kHidden;
    }
    list.resize(n);
  }

  // One item per (query head, token).
  parallel_for(hq * tokens, keys * dim * 2, [&](size_t begin, size_t end) {
    std::vector<float> p;
    for (size_t item = begin; item < end; ++item) {
      const size_t h = item / tokens, t = item % tokens, g = h / group;
      const float* qv = q + (t * hq + h) * dim;
      const float* mask_row = mask + t * keys;
      const std::vector<uint32_t>& seen = visible[t];
      float* o = out.floats.data() + (t * hq + h) * dim;
      for (size_t d = 0; d < dim; ++d) o[d] = 0.0f;
      if (seen.empty()) continue;  // every key hidden: zeros

      p.resize(seen.size());
      float max_score = kHidden;
      for (size_t i = 0; i < seen.size(); ++i) {
        size_t j = seen[i];
        const float* key = j < cache ? kc + (g * cache + j) * dim : k + (g * tokens + j - cache) * dim;
        p[i] = dot(qv, key, dim) / scale + mask_row[j];
        if (p[i] > max_score) max_score = p[i];
      }
      if (max_score == kHidden) continue;
      float sum = 0.0f;
      for (float& s : p) {
        s = std::exp(s - max_score);
        sum += s;
      }
      for (size_t i = 0; i < seen.size(); ++i) {
        size_t j = seen[i];
        float weight = p[i] / sum;
        const float* value = j < cache ? vc + (g * cache + j) * dim : v + (g * tokens + j - cache) * dim;
        for (size_t d = 0; d < dim; ++d) o[d] += weight * value[d];
      }
    }
  });
  round_in_place(out.dtype, out.floats);
}

}  // namespace pte::runtime
