// `pte inspect`: validate a .pte (as the runtime does) and describe it: header, methods (grouped
// by LoRA adapter, base first) with their I/O and pieces, blobs, metadata, sizes. --json gives the
// same as one JSON object; each method entry also carries "lora", its adapter's entry of the
// `methods` metadata (rank, alpha, scale, targets, ...) or null.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_input.h"
#include "common/sha256.h"
#include "exporter/cli/commands.h"
#include "exporter/cli/human_bytes.h"
#include "exporter/cli/inspect_tokenizer.h"
#include "runtime-load/loaded_program.h"
#include "runtime-load/piece_graph.h"
#include "exporter/parity/quality_report.h"
#include "schema/metadata_keys.h"

namespace pte::cli {
namespace {

using runtime::LoadedProgram;
using runtime::view;
using Json = nlohmann::ordered_json;  // output order; parsed input is nlohmann::json

struct InspectArgs {
  std::string file;
  bool json = false;
  bool no_check_hashes = false;
  std::string prompt;
};

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

std::vector<std::string> strings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>& v) {
  std::vector<std::string> out;
  for (const auto* s : v) out.emplace_back(view(s));
  return out;
}

Json io_json(const fb::IOSpec& s) {
  return {{"name", view(s.name())}, {"dtype", dtype_name(runtime::to_dtype(s.dtype()))},
          {"shape", runtime::to_shape(s.shape())}, {"role", fb::EnumNameIORole(s.role())}, {"layer", s.layer()}};
}

// Row-major int64 values of `shape` as nested JSON arrays (a scalar as a number).
Json nested_ints(const runtime::Shape& shape, const int64_t* values, size_t dim = 0) {
  if (dim == shape.size()) return *values;
  Json a = Json::array();
  int64_t stride = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d) stride *= shape[d];
  for (int64_t i = 0; i < shape[dim]; ++i) a.push_back(nested_ints(shape, values + i * stride, dim + 1));
  return a;
}

Json metadata_json(const fb::MetaEntry& e) {
  if (const fb::IntTensor* t = e.value_as_IntTensor()) {
    runtime::Shape shape = runtime::to_shape(t->shape());
    std::vector<int64_t> values(t->values()->begin(), t->values()->end());
    if (shape.size() > 4) return values;  // deep nesting helps nobody: flat, row-major
    return nested_ints(shape, values.data());
  }
  if (const fb::Text* t = e.value_as_Text()) return std::string(view(t->value()));
  const fb::BlobTensor* t = e.value_as_BlobTensor();
  return {{"blob", view(t->blob())}, {"dtype", dtype_name(runtime::to_dtype(t->dtype()))},
          {"shape", runtime::to_shape(t->shape())}};
}

// The `methods` metadata (a JSON array, one object per method), or an empty array when absent
// or not valid JSON.
Json methods_metadata(const LoadedProgram& program) {
  const fb::MetaEntry* e = program.find_metadata(meta::kMethods);
  if (!e || !e->value_as_Text()) return Json::array();
  Json j = parse_untrusted_json(view(e->value_as_Text()->value()), program.path() + ": metadata 'methods'").value;
  return j.is_array() ? j : Json::array();
}

// The adapter object the `methods` metadata gives for method `name`, or null.
Json lora_of(const Json& methods_meta, std::string_view name) {
  for (const Json& m : methods_meta)
    if (m.is_object() && m.value("name", "") == name && m.contains("adapter") && m["adapter"].is_object())
      return m["adapter"];
  return nullptr;
}

Json describe(const LoadedProgram& program, bool hashes_checked) {
  const fb::Program& p = program.program();
  const Json methods_meta = methods_metadata(program);
  Json j;
  j["file"] = program.path();
  j["format_version"] = p.format_version();
  j["exporter_version"] = std::string(view(p.exporter_version()));
  j["file_size"] = program.file_size();
  j["methods"] = Json::array();
  for (const fb::Method* m : *p.methods()) {
    Json mj;
    mj["name"] = view(m->name());
    mj["role"] = fb::EnumNameMethodRole(m->role());
    mj["adapter"] = m->adapter() ? Json(std::string(view(m->adapter()))) : Json(nullptr);
    mj["lora"] = lora_of(methods_meta, view(m->name()));
    mj["inputs"] = Json::array();
    for (const fb::IOSpec* s : *m->inputs()) mj["inputs"].push_back(io_json(*s));
    mj["outputs"] = Json::array();
    for (const fb::IOSpec* s : *m->outputs()) mj["outputs"].push_back(io_json(*s));
    mj["pieces"] = Json::array();
    for (flatbuffers::uoffset_t i = 0; i < m->pieces()->size(); ++i) {
      const fb::Piece& piece = *m->pieces()->Get(i);
      Json pj = {{"backend", view(piece.backend())}, {"payload", view(piece.payload())},
                 {"inputs", strings(*piece.inputs())}, {"outputs", strings(*piece.outputs())}};
      if (view(piece.backend()) == kGraphBackend) {
        runtime::PieceGraph g(program, view(piece.payload()),
                              "method '" + std::string(view(m->name())) + "' piece " + std::to_string(i));
        pj["nodes"] = g.nodes().size();
        pj["constants"] = g.constant_blobs();
        pj["constant_bytes"] = g.constant_bytes();
      } else {
        pj["nodes"] = nullptr;
        pj["constants"] = Json::array();
      }
      mj["pieces"].push_back(std::move(pj));
    }
    j["methods"].push_back(std::move(mj));
  }
  j["blobs"] = Json::array();
  for (const fb::Blob* b : *p.blobs()) {
    Sha256Digest digest;
    std::copy(b->sha256()->begin(), b->sha256()->end(), digest.begin());
    j["blobs"].push_back({{"key", view(b->key())}, {"offset", b->offset()}, {"size", b->size()},
                          {"alignment", b->alignment()}, {"sha256", to_hex(digest)}});
  }
  j["metadata"] = Json::object();
  for (const fb::MetaEntry* e : *p.metadata()) j["metadata"][std::string(view(e->key()))] = metadata_json(*e);
  const std::optional<nlohmann::json> quality = stored_quality_report(program);
  j["quality"] = quality ? Json::parse(quality->dump()) : Json();
  if (hashes_checked) j["hashes_checked"] = true;
  return j;
}

std::string shape_text(const Json& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i].get<int64_t>());
  return s + "]";
}

std::string number_text(const Json& v) {
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  return v.is_null() ? "?" : v.dump();
}

// " rank 8, alpha 16, scale 2, 12 targets" from a `methods` metadata adapter object.
std::string lora_summary(const Json& lora) {
  if (!lora.is_object()) return "";
  std::string s = " rank " + number_text(lora.value("rank", Json())) + ", alpha " +
                  number_text(lora.value("alpha", Json())) + ", scale " + number_text(lora.value("scale", Json()));
  if (lora.contains("use_rslora") && lora["use_rslora"].is_boolean() && lora["use_rslora"].get<bool>())
    s += " (rslora)";
  if (lora.contains("targets") && lora["targets"].is_array())
    s += ", " + std::to_string(lora["targets"].size()) + " target" + (lora["targets"].size() == 1 ? "" : "s");
  return s;
}

// T (tokens per call) and C (cache slots) of a method entry, from its Tokens and KCache inputs.
std::string call_shape(const Json& m) {
  std::string t = "?", c;
  for (const Json& s : m["inputs"]) {
    if (s["role"] == "Tokens" && s["shape"].size() == 2) t = std::to_string(s["shape"][1].get<int64_t>());
    if (s["role"] == "KCache" && c.empty() && s["shape"].size() == 4)
      c = ", cache " + std::to_string(s["shape"][2].get<int64_t>());
  }
  return "T " + t + c;
}

void print_method(const Json& m) {
  std::printf("    %s (%s, %s)\n", m["name"].get<std::string>().c_str(), m["role"].get<std::string>().c_str(),
              call_shape(m).c_str());
  for (const char* kind : {"inputs", "outputs"}) {
    std::printf("      %s:\n", kind);
    for (size_t i = 0; i < m[kind].size(); ++i) {
      const Json& s = m[kind][i];
      std::string layer = s["layer"].get<int>() >= 0 ? " layer " + std::to_string(s["layer"].get<int>()) : "";
      std::printf("        %2zu %-20s %-5s %-18s %s%s\n", i, s["name"].get<std::string>().c_str(),
                  s["dtype"].get<std::string>().c_str(), shape_text(s["shape"]).c_str(),
                  s["role"].get<std::string>().c_str(), layer.c_str());
    }
  }
  std::printf("      pieces:\n");
  for (size_t i = 0; i < m["pieces"].size(); ++i) {
    const Json& p = m["pieces"][i];
    std::vector<std::string> ins = p["inputs"], outs = p["outputs"];
    std::string nodes = p["nodes"].is_null() ? "?" : std::to_string(p["nodes"].get<size_t>());
    uint64_t bytes = p.contains("constant_bytes") ? p["constant_bytes"].get<uint64_t>() : 0;
    std::printf("        %zu %s payload '%s': %s nodes, %zu constants (%s)\n", i,
                p["backend"].get<std::string>().c_str(), p["payload"].get<std::string>().c_str(), nodes.c_str(),
                p["constants"].size(), human_bytes(bytes).c_str());
    std::printf("          (%s) -> (%s)\n", join(ins).c_str(), join(outs).c_str());
  }
}

// The `methods` metadata, one line per method, when it parses as the exporter writes it.
bool print_methods_metadata(const std::string& text) {
  Json list;
  try {
    list = parse_untrusted_json(text, "metadata 'methods'").value;
  } catch (const Error&) {
    return false;  // printed as plain text instead
  }
  if (!list.is_array()) return false;
  std::printf("  %-24s %zu method%s:\n", "methods", list.size(), list.size() == 1 ? "" : "s");
  for (const Json& m : list) {
    if (!m.is_object()) return true;
    std::string adapter = "base";
    if (m.contains("adapter") && m["adapter"].is_object())
      adapter = "adapter " + m["adapter"].value("name", std::string("?")) + ":" + lora_summary(m["adapter"]);
    std::printf("    %-22s %-8s T %-6s cache %-6s %s\n", m.value("name", std::string("?")).c_str(),
                m.value("role", std::string("?")).c_str(), number_text(m.value("input_len", Json())).c_str(),
                number_text(m.value("cache_len", Json())).c_str(), adapter.c_str());
  }
  return true;
}

void print_text(const LoadedProgram& program, const Json& j) {
  const FileHeader& h = program.header();
  std::printf("%s: %s\n", program.path().c_str(), human_bytes(program.file_size()).c_str());
  std::printf("  format_version %u, exporter \"%s\"\n", h.format_version,
              j["exporter_version"].get<std::string>().c_str());
  std::printf("  flatbuffer [%llu, +%llu), data segment [%llu, +%llu)\n",
              static_cast<unsigned long long>(h.flatbuffer_offset), static_cast<unsigned long long>(h.flatbuffer_size),
              static_cast<unsigned long long>(h.segment_offset), static_cast<unsigned long long>(h.segment_size));

  // Grouped by adapter: the base methods first, then each adapter's in file order.
  std::vector<Json> groups;  // adapter name (string) or null
  groups.push_back(nullptr);
  for (const Json& m : j["methods"])
    if (!m["adapter"].is_null() && std::find(groups.begin(), groups.end(), m["adapter"]) == groups.end())
      groups.push_back(m["adapter"]);
  std::printf("\nmethods (%zu):\n", j["methods"].size());
  for (const Json& group : groups) {
    Json lora = nullptr;
    size_t count = 0;
    for (const Json& m : j["methods"])
      if (m["adapter"] == group) {
        ++count;
        if (lora.is_null()) lora = m["lora"];
      }
    if (group.is_null()) {
      if (count == 0) continue;
      std::printf("  base model:\n");
    } else {
      std::printf("  adapter %s:%s\n", group.get<std::string>().c_str(), lora_summary(lora).c_str());
    }
    for (const Json& m : j["methods"])
      if (m["adapter"] == group) print_method(m);
  }

  // Keys naming the same bytes share storage: count each range once.
  std::map<std::pair<uint64_t, uint64_t>, int> ranges;
  for (const fb::Blob* b : *program.program().blobs()) ++ranges[{b->offset(), b->size()}];
  uint64_t stored = 0;
  for (const auto& [range, keys] : ranges) stored += range.second;
  std::printf("\nblobs (%zu keys, %zu stored, %s):\n", j["blobs"].size(), ranges.size(), human_bytes(stored).c_str());
  for (const fb::Blob* b : *program.program().blobs()) {
    int sharing = ranges[{b->offset(), b->size()}];
    std::printf("  %-48s %10s at %llu%s\n", std::string(view(b->key())).c_str(), human_bytes(b->size()).c_str(),
                static_cast<unsigned long long>(b->offset()),
                sharing > 1 ? (" (storage shared by " + std::to_string(sharing) + " keys)").c_str() : "");
  }

  std::printf("\nmetadata (%zu):\n", j["metadata"].size());
  for (const auto& [key, value] : j["metadata"].items()) {
    if (key == meta::kMethods && value.is_string() && print_methods_metadata(value.get<std::string>())) continue;
    if (print_description_metadata(key, value)) continue;
    if (key == meta::kQualityReport && j["quality"].is_object()) {
      const Json& q = j["quality"];
      std::printf("  %-24s top-1 %s, mean KL %s nats, %s positions (method %s, continuation %s), %s bits per weight\n",
                  key.c_str(), q.value("top1_agreement", Json()).dump().c_str(), q.value("mean_kld", Json()).dump().c_str(),
                  q.value("positions", Json()).dump().c_str(), q.value("method", Json()).dump().c_str(),
                  q.value("continuation", Json()).dump().c_str(), q.value("bits_per_weight", Json()).dump().c_str());
      continue;
    }
    std::string text;
    if (value.is_object())
      text = value["dtype"].get<std::string>() + " " + shape_text(value["shape"]) + " in blob '" +
             value["blob"].get<std::string>() + "'";
    else if (value.is_string())
      text = value.get<std::string>();
    else if (value.dump().size() <= 120)
      text = value.dump();
    else
      text = "int tensor (" + std::to_string(value.dump().size()) + " characters of values)";
    std::printf("  %-24s %s\n", key.c_str(), text.c_str());
  }
  std::printf("\ntotal: %s file, %s in blobs (%s header, flatbuffer and padding)\n", human_bytes(program.file_size()).c_str(),
              human_bytes(stored).c_str(), human_bytes(program.file_size() - stored).c_str());
  if (j.contains("hashes_checked")) std::printf("all %zu blob hashes match\n", j["blobs"].size());
}

void inspect(const InspectArgs& a) {
  LoadedProgram program(a.file, {.check_hashes = !a.no_check_hashes});
  Json j = describe(program, !a.no_check_hashes);
  if (!a.prompt.empty()) j["prompt"] = prompt_tokens_json(program, a.prompt);
  if (a.json)
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else
    print_text(program, j);
  if (!a.json && j.contains("prompt")) {
    std::printf("\nprompt: %zu tokens\n", j["prompt"]["ids"].size());
    for (size_t i = 0; i < j["prompt"]["ids"].size(); ++i)
      std::printf("  %6d %s\n", j["prompt"]["ids"][i].get<int>(), j["prompt"]["pieces"][i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Validate a .pte and describe its methods, blobs and metadata");
  cmd->add_option("file", args->file, ".pte file")->required();
  cmd->add_flag("--json", args->json, "print one JSON object");
  cmd->add_flag("--no_check_hashes", args->no_check_hashes,
                "skip the check of every blob against its SHA-256 (done by default; the container is always checked)");
  cmd->add_option("--prompt", args->prompt, "also show the token ids the file's tokenizer gives this text");
  cmd->callback([args] { inspect(*args); });
}

}  // namespace pte::cli
