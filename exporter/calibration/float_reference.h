#pragma once
// The float model that calibration runs on the runtime. For now it is an fp32, unquantized,
// unsplit program packed from the checkpoint into an unnamed temporary file (as `pte verify`'s
// reference); this one function is where another source (e.g. one reading the checkpoint in
// place) would plug in.
#include <memory>

#include "exporter/program/export_options.h"
#include "runtime-load/loaded_program.h"

namespace pte {

// The model of `o` (checkpoint, params; no adapters) in fp32 with method `forward` taking
// `input_len` tokens per call and a context of `max_context_len`.
std::unique_ptr<runtime::LoadedProgram> float_reference(const ExportOptions& o, int64_t input_len,
                                                        int64_t max_context_len, int threads);

}  // namespace pte
