#pragma once
// The quality report `pte export --report` stores in a file (metadata quality.report, FORMAT.md
// §4.5): the parity check's figures, the protocol that gives them (method, prompt, positions,
// continuation), and the bits per weight of the method measured. `pte verify` run with the same
// protocol reproduces the figures exactly; `pte inspect` shows them.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "exporter/parity/parity_check.h"
#include "runtime-load/loaded_program.h"

namespace pte {

// Stored bits of `method`'s weights (codes and scales, each distinct blob once) per weight element.
double bits_per_weight(const runtime::LoadedProgram& file, std::string_view method);

// The report as JSON text (compact, numbers that read back to the same doubles).
std::string quality_report_json(const ParityRequest& request, const ParityReport& report, double bits_per_weight);

// The file's report, parsed; nullopt when it has none. Throws pte::Error when it is not a JSON object.
std::optional<nlohmann::json> stored_quality_report(const runtime::LoadedProgram& file);

// Whether `stored` was measured with the protocol of `request`/`report`, and if so whether its
// figures equal the report's: "reproduced", "differs", or "other protocol".
std::string compare_with_stored(const nlohmann::json& stored, const ParityRequest& request, const ParityReport& report);

}  // namespace pte
