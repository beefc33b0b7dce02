#pragma once
// `pte verify`'s float32 reference, assembled in memory and reading the checkpoint in place.
// It is the program export builds for the given options (verify asks for fp32, unquantized,
// unsplit), but its weights are views of the checkpoint's own tensors: bf16/fp16/fp32 rows that
// the reference executor widens to float32 as it reads them, and Hugging Face q/k rows through a
// row order instead of a permuted copy. Nothing is written to disk. A weight that is no plain
// view (a strided tensor) is computed into memory, one weight at a time, and kept.
#include <memory>
#include <string>
#include <vector>

#include "exporter/export_model.h"
#include "exporter/program/export_options.h"
#include "runtime-load/loaded_program.h"

namespace pte {

// The options of a float32 reference: fp32, unquantized, unsplit, one piece per method.
ExportOptions reference_options(const std::string& checkpoint, const std::string& params, int64_t max_context_len,
                                int64_t input_len, int threads);

class ReferenceProgram {
 public:
  // Throws pte::Error for invalid options or input, as export would.
  explicit ReferenceProgram(const ExportOptions& options);

  const runtime::LoadedProgram& program() const { return *program_; }
  // Weights read in place, and weights computed into memory.
  size_t viewed_weights() const { return viewed_; }
  size_t computed_weights() const { return computed_.size(); }

 private:
  OpenedModel model_;  // the mappings the views point into
  std::vector<std::vector<uint32_t>> row_orders_;
  std::vector<std::vector<uint8_t>> computed_;
  size_t viewed_ = 0;
  std::unique_ptr<runtime::LoadedProgram> program_;
};

}  // namespace pte
