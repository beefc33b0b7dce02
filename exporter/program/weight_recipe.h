#pragma once
// How a weight blob is made from the checkpoint: a source tensor and the steps applied to it.
// The structural key (source + steps) names the blob in the file, so the same weight reached
// from two methods is computed once and stored once. Passes append steps; the packer runs
// recipes one at a time on worker threads, reading the source through its mmap view.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/dtype.h"
#include "exporter/program/graph.h"

namespace pte {

class Checkpoint;
struct ColumnHessian;
struct TensorView;

// The checkpoints an export reads: the base model and any adapters, by adapter name.
struct CheckpointSet {
  const Checkpoint* base = nullptr;
  std::map<std::string, const Checkpoint*> adapters;
  const Checkpoint& get(const std::string& name) const;
};

struct CastStep {
  DType to;  // F32 or F16 (round to nearest even)
};

struct SliceRowsStep {  // rows [begin, end) of the first dimension
  int64_t begin, end;
};

// Hugging Face rotate-half row order -> Meta interleaved order, per head of `head_dim` rows:
// Meta row 2i is HF row i, Meta row 2i+1 is HF row i + head_dim/2 (SPEC §2).
struct RotateHalfToInterleavedStep {
  int64_t head_dim;
};

// Symmetric weight-only quantization (SPEC §6), computed in the dtype of the last cast.
// Produces two blobs: the codes (I8, or I4 two per byte) and the scales.
struct QuantizeStep {
  int bits;       // 4 or 8
  int64_t group;  // 0: one scale per row; else consecutive elements along the last axis
  bool search = false;  // each block's scale chosen by scale_search.h instead of the reference's
  // With `search`: one error weight per column (calibration importances); null: unweighted.
  std::shared_ptr<const std::vector<float>> importance = nullptr;
  // Set: GPTQ codes from these calibration statistics of the linear's input (gptq.h).
  std::shared_ptr<const ColumnHessian> hessian = nullptr;
};

using WeightStep = std::variant<CastStep, SliceRowsStep, RotateHalfToInterleavedStep, QuantizeStep>;

struct WeightRecipe {
  std::string checkpoint;  // "" for the base model, else the LoRA adapter whose file holds it
  std::string source;      // tensor name in that checkpoint
  std::string name;        // name in blob keys when it differs from `source` (adapter tensors)
  std::vector<WeightStep> steps;
  DType dtype = DType::Invalid;  // of the result (codes when quantized)
  Shape shape;                   // of the result
  std::string key() const;
  const QuantizeStep* quantization() const;  // the last step when it quantizes, else null
  std::string scales_key() const { return key() + ":scales"; }
  // Blob keys this recipe produces, in the order compute_weight fills them.
  std::vector<std::string> blob_keys() const;
};

struct WeightStats {
  uint64_t bytes_read = 0;
  uint64_t fp16_overflows = 0;  // finite source values that became ±inf in fp16
};

// What a recipe's row steps and casts make of its source: output row r is source row rows[r],
// and the values are in `model_dtype` (the last cast's).
struct RowPlan {
  std::vector<int64_t> rows;
  DType model_dtype = DType::Invalid;
};
RowPlan plan_rows(const WeightRecipe& recipe, const TensorView& source);

// Computes the recipe's blobs (row-major, little-endian), one per blob_keys() entry. Buffers
// already in `out` are reused (their memory, not their contents).
void compute_weight(const WeightRecipe& recipe, const CheckpointSet& checkpoints,
                    std::vector<std::vector<uint8_t>>& out, WeightStats& stats);

}  // namespace pte
