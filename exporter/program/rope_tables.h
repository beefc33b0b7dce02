#pragma once
// Meta RoPE frequency tables [positions, head_dim/2], computed in float32 as the reference does,
// with optional Llama-3 frequency scaling (SPEC §2).
#include <cstdint>
#include <vector>

#include "exporter/checkpoint/model_params.h"

namespace pte {

struct RopeTables {
  int64_t positions = 0;
  int64_t half_dim = 0;
  std::vector<float> cos;  // row-major [positions, half_dim]
  std::vector<float> sin;
};

std::vector<float> rope_frequencies(const ModelParams& params);
RopeTables rope_tables(const ModelParams& params, int64_t positions);

}  // namespace pte
