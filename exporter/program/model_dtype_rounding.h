#pragma once
// A float32 result rounded once to the model dtype: fp16 (round to nearest even) or fp32 (as is).
#include "common/float16.h"

namespace pte {

template <bool kHalf>
[[gnu::always_inline]] inline float to_model_dtype(float v) {
  if constexpr (kHalf) return round_to_half_fast(v);
  else return v;
}

}  // namespace pte
