#include <cmath>
#include <limits>
#include <vector>

#include "runtime-check/dot.h"
#include "runtime-check/float_rows.h"
#include "runtime-check/kernels.h"
#include "runtime-check/parallel.h"

namespace pte::runtime {

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

  // One item per (query head, token): the scores of that row over the C+T keys.
  parallel_for(hq * tokens, keys * dim * 2, [&](size_t begin, size_t end) {
    std::vector<float> p(keys);
    for (size_t item = begin; item < end; ++item) {
      const size_t h = item / tokens, t = item % tokens, g = h / group;
      const float* qv = q + (t * hq + h) * dim;
      auto key = [&](size_t j) { return j < cache ? kc + (g * cache + j) * dim : k + (g * tokens + j - cache) * dim; };
      auto value = [&](size_t j) { return j < cache ? vc + (g * cache + j) * dim : v + (g * tokens + j - cache) * dim; };
      float max_score = -std::numeric_limits<float>::infinity();
      for (size_t j = 0; j < keys; ++j) {
        p[j] = dot(qv, key(j), dim) / scale + mask[t * keys + j];
        if (p[j] > max_score) max_score = p[j];
      }
      float* o = out.floats.data() + (t * hq + h) * dim;
      for (size_t d = 0; d < dim; ++d) o[d] = 0.0f;
      if (max_score == -std::numeric_limits<float>::infinity()) continue;  // every key hidden
      float sum = 0.0f;
      for (size_t j = 0; j < keys; ++j) {
        p[j] = std::exp(p[j] - max_score);
        sum += p[j];
      }
      for (size_t j = 0; j < keys; ++j) {
        float weight = p[j] / sum;
        if (weight == 0.0f) continue;
        const float* vj = value(j);
        for (size_t d = 0; d < dim; ++d) o[d] += weight * vj[d];
      }
    }
  });
  round_in_place(out.dtype, out.floats);
}

}  // namespace pte::runtime
