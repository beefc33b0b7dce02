#include "exporter/program/rope_tables.h"

#include <cmath>

namespace pte {

std::vector<float> rope_frequencies(const ModelDescription& p) {
  const int64_t half = p.head_dim / 2;
  std::vector<float> freqs(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(p.head_dim);
    freqs[i] = 1.0f / std::pow(static_cast<float>(p.rope_theta), exponent);
  }
  if (!p.rope_scaling) return freqs;
  const float scale = static_cast<float>(p.rope_scaling->factor);
  const float low_freq_factor = static_cast<float>(p.rope_scaling->low_freq_factor);
  const float high_freq_factor = static_cast<float>(p.rope_scaling->high_freq_factor);
  const float old_context = static_cast<float>(p.rope_scaling->original_context);
  const float low_freq_wavelen = old_context / low_freq_factor;
  const float high_freq_wavelen = old_context / high_freq_factor;
  const float two_pi = 2.0f * static_cast<float>(M_PI);
  for (float& f : freqs) {
    float wavelen = two_pi / f;
    if (wavelen < high_freq_wavelen) continue;
    if (wavelen > low_freq_wavelen) {
      f = f / scale;
    } else {
      float smooth = (old_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      f = (1.0f - smooth) * f / scale + smooth * f;
    }
  }
  return freqs;
}

RopeTables rope_tables(const ModelDescription& p, int64_t positions) {
  RopeTables t;
  t.positions = positions;
  t.half_dim = p.head_dim / 2;
  std::vector<float> freqs = rope_frequencies(p);
  t.cos.resize(static_cast<size_t>(positions * t.half_dim));
  t.sin.resize(t.cos.size());
  for (int64_t pos = 0; pos < positions; ++pos)
    for (int64_t i = 0; i < t.half_dim; ++i) {
      float angle = static_cast<float>(pos) * freqs[i];
      t.cos[pos * t.half_dim + i] = std::cos(angle);
      t.sin[pos * t.half_dim + i] = std::sin(angle);
    }
  return t;
}

}  // namespace pte
