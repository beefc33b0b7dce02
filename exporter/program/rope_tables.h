#pragma once
// Meta RoPE frequency tables [positions, head_dim/2], computed in float32 as the reference does,
// with optional Llama-3 frequency scaling (SPEC §2; its constants come from the model
// description: Meta's fixed 1, 4, 8192, or config.json's rope_scaling).
#include <cstdint>
#include <vector>

#include "exporter/model/model_description.h"

namespace pte {

struct RopeTables {
  int64_t positions = 0;
  int64_t half_dim = 0;
  std::vector<float> cos;  // row-major [positions, half_dim]
  std::vector<float> sin;
};

std::vector<float> rope_frequencies(const ModelDescription& model);
RopeTables rope_tables(const ModelDescription& model, int64_t positions);

}  // namespace pte
