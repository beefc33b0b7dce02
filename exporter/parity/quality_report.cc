#include "exporter/parity/quality_report.h"

#include <set>

#include "common/error.h"
#include "common/json_input.h"
#include "runtime-load/method_graph.h"
#include "schema/metadata_keys.h"

namespace pte {

double bits_per_weight(const runtime::LoadedProgram& file, std::string_view method) {
  const runtime::MethodGraph graph(file, method);
  std::set<std::string> seen;
  uint64_t bytes = 0, elements = 0;
  for (const runtime::PreparedPiece& piece : graph.pieces())
    for (const runtime::GraphValue& v : piece.graph.values()) {
      if (!v.constant || !seen.insert(v.blob).second) continue;
      elements += static_cast<uint64_t>(runtime::numel(v.shape));
      bytes += file.blob_bytes(v.blob).size();
      if (!v.scales_blob.empty()) bytes += file.blob_bytes(v.scales_blob).size();
    }
  return elements ? 8.0 * static_cast<double>(bytes) / static_cast<double>(elements) : 0.0;
}

std::string quality_report_json(const ParityRequest& request, const ParityReport& report, double bits) {
  nlohmann::ordered_json j;
  j["method"] = request.method;
  j["prompt_ids"] = report.prompt;
  j["positions"] = report.positions;
  j["continuation"] = request.reference_continuation ? "reference" : "file";
  j["top1_agreement"] = report.metrics.top1_agreement;
  j["mean_kld"] = report.metrics.mean_kld;
  j["max_abs_diff"] = report.metrics.max_abs_diff;
  j["bits_per_weight"] = bits;
  return j.dump();
}

std::optional<nlohmann::json> stored_quality_report(const runtime::LoadedProgram& file) {
  if (!file.has_metadata(meta::kQualityReport)) return std::nullopt;
  nlohmann::json j =
      parse_untrusted_json(file.metadata_text(meta::kQualityReport), file.path() + ": metadata 'quality.report'").value;
  if (!j.is_object()) file.fail("metadata 'quality.report': expected a JSON object");
  return j;
}

std::string compare_with_stored(const nlohmann::json& stored, const ParityRequest& request, const ParityReport& report) {
  const nlohmann::json now = nlohmann::json::parse(quality_report_json(request, report, 0));
  for (const char* key : {"method", "prompt_ids", "positions", "continuation"})
    if (!stored.contains(key) || stored[key] != now[key]) return "other protocol";
  for (const char* key : {"top1_agreement", "mean_kld", "max_abs_diff"})
    if (!stored.contains(key) || stored[key] != now[key]) return "differs";
  return "reproduced";
}

}  // namespace pte
