#pragma once
// The parity check of `pte verify` and `pte export --report`, by two independent implementations:
// the .pte on the fast executor against the float32 reference of its checkpoint (assembled in
// memory, weights read in place: exporter/reference/) on the reference executor, teacher-forced
// over the same tokens: the prompt, then a greedy continuation (the file's, or the reference's).
// The figures depend only on the files and the request, not on the thread count.
// An adapter method is compared with a reference built with the same adapter (its files from the
// request, else from the file's export_flags). A --multifunction file is driven as its
// prefill/decode pair (teacher-forced: every position through decode); its reference is a Full
// method with the same cache length (C = max_context_len - 1), so both attend to every position.
#include <cstdint>
#include <string>
#include <vector>

#include "runtime-check/parity_metrics.h"
#include "runtime-load/loaded_program.h"

namespace pte {

struct ParityRequest {
  std::string checkpoint, params;  // what the file was exported from ("" params: the folder's)
  std::string method = "forward";  // a Full method, or the base/adapter name of a prefill/decode pair
  std::vector<std::string> adapter_files;  // CKPT CONFIG of the method's adapter; empty: from export_flags
  std::vector<int32_t> prompt_ids;         // the prompt, unless prompt_text is given
  std::string prompt_text;                 // encoded by the file's tokenizer
  int64_t tokens = 128;                    // positions compared (capped by the context)
  bool reference_continuation = false;     // the fp32 model's greedy tokens instead of the file's
  int threads = 1;
};

struct ParityReport {
  runtime::ParityMetrics metrics;
  std::string adapter;          // the method's LoRA adapter, "" for a base method
  std::vector<int32_t> prompt;  // as evaluated
  size_t positions = 0;
  size_t viewed_weights = 0, computed_weights = 0;  // of the reference
  double total_seconds = 0, assemble_seconds = 0, continuation_seconds = 0, reference_seconds = 0,
         file_seconds = 0;
};

// Throws pte::Error (one line) for an invalid request or input.
ParityReport check_parity(const runtime::LoadedProgram& file, const ParityRequest& request);

}  // namespace pte
