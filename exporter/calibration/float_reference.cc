#include "exporter/calibration/float_reference.h"

#include <cstdlib>
#include <limits>

#include "exporter/export_model.h"
#include "exporter/packer/output_file.h"

namespace pte {

std::unique_ptr<runtime::LoadedProgram> float_reference(const ExportOptions& o, int64_t input_len,
                                                        int64_t max_context_len, int threads) {
  ExportOptions r;
  r.checkpoint = o.checkpoint;
  r.params = o.params;
  r.max_context_len = max_context_len;
  r.input_len = input_len;
  r.dtype = DType::F32;
  r.embedding_quantize = std::nullopt;
  r.linear_quantize = LinearQuantization::None;
  r.target_split_size = std::numeric_limits<int64_t>::max();  // nothing splits
  r.max_splits = 1;
  r.graph_breaks = false;
  r.threads = threads;
  const char* tmp = std::getenv("TMPDIR");
  OutputFile temp = OutputFile::unnamed(tmp && *tmp ? tmp : "/tmp");
  export_model(r, threads, temp);
  // Just written, so not hashed again; the mapping keeps the data once `temp` closes.
  return std::make_unique<runtime::LoadedProgram>(temp.readable_path(), runtime::LoadOptions{.check_hashes = false});
}

}  // namespace pte
