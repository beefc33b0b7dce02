#pragma once
// How a weight blob is made from the checkpoint: a source tensor and the steps applied to it.
// The structural key (source + steps) names the blob in the file, so the same weight reached
// from two methods is computed once and stored once. Passes append steps; the packer runs
// recipes one at a time on worker threads, reading the source through its mmap view.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/dtype.h"
#include "exporter/program/graph.h"

namespace pte {

class Checkpoint;

struct CastStep {
  DType to;  // F32 or F16 (round to nearest even)
};

struct SliceRowsStep {  // rows [begin, end) of the first dimension
  int64_t begin, end;
};

using WeightStep = std::variant<CastStep, SliceRowsStep>;

struct WeightRecipe {
  std::string source;  // checkpoint tensor name
  std::vector<WeightStep> steps;
  DType dtype = DType::Invalid;  // of the result
  Shape shape;                   // of the result
  std::string key() const;
};

struct WeightStats {
  uint64_t bytes_read = 0;
  uint64_t fp16_overflows = 0;  // finite source values that became ±inf in fp16
};

// Computes the recipe's bytes (row-major, little-endian) into `out`, resized to fit.
void compute_weight(const WeightRecipe& recipe, const Checkpoint& checkpoint,
                    std::vector<uint8_t>& out, WeightStats& stats);

}  // namespace pte
