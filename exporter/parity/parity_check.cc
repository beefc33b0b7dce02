#include "exporter/parity/parity_check.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_input.h"
#include "exporter/adapter/adapter_spec.h"
#include "exporter/program/export_options.h"
#include "exporter/reference/reference_program.h"
#include "runner/file_tokenizer.h"
#include "runner/runner.h"
#include "schema/metadata_keys.h"

namespace pte {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The context the file was exported with: from its export_flags, else from its runner layout.
struct ExportShape {
  int64_t max_context_len = 0, input_len = 0;
};

nlohmann::json export_flags(const runtime::LoadedProgram& file) {
  nlohmann::json flags =
      parse_untrusted_json(file.metadata_text(meta::kExportFlags), file.path() + ": metadata 'export_flags'").value;
  if (!flags.is_object()) file.fail("metadata 'export_flags': expected a JSON object");
  return flags;
}

int64_t flag_int(const nlohmann::json& flags, const char* field, const runtime::LoadedProgram& file) {
  auto it = flags.find(field);
  if (it == flags.end() || !it->is_number_integer())
    file.fail(std::string("metadata 'export_flags': expected an integer field '") + field + "', found " +
              (it == flags.end() ? std::string("none") : it->dump()));
  return it->get<int64_t>();
}

ExportShape export_shape_of(const runtime::LoadedProgram& file, const runtime::RunnerLayout& layout) {
  if (!file.has_metadata(meta::kExportFlags)) return {layout.max_context_len, layout.input_len};
  const nlohmann::json flags = export_flags(file);
  return {flag_int(flags, "max_context_len", file), flag_int(flags, "input_len", file)};
}

// The files of LoRA adapter `name`: from the request, else from the file's export_flags.
AdapterSpec adapter_spec(const ParityRequest& r, const runtime::LoadedProgram& file, const std::string& name) {
  if (r.adapter_files.size() == 2) return {name, r.adapter_files[0], r.adapter_files[1]};
  const std::string hint = "; give --adapter CKPT CONFIG, the files it was exported from";
  if (!file.has_metadata(meta::kExportFlags))
    file.fail("method '" + r.method + "' belongs to LoRA adapter '" + name + "' and the file has no export_flags" + hint);
  const nlohmann::json flags = export_flags(file);
  if (flags.contains("adapters") && flags["adapters"].is_array())
    for (const nlohmann::json& e : flags["adapters"])
      if (e.is_object() && e.value("name", "") == name && e.contains("checkpoint") && e["checkpoint"].is_string() &&
          e.contains("config") && e["config"].is_string())
        return {name, e["checkpoint"].get<std::string>(), e["config"].get<std::string>()};
  file.fail("metadata 'export_flags' does not record the files of LoRA adapter '" + name + "'" + hint);
}

// The float32 reference program for `shape` (with `adapter` when given: then methods forward
// and NAME).
std::unique_ptr<ReferenceProgram> build_reference(const ParityRequest& r, const runtime::LoadedProgram& file,
                                                  const ExportShape& shape, const std::optional<AdapterSpec>& adapter) {
  ExportOptions o = reference_options(r.checkpoint, r.params, shape.max_context_len, shape.input_len, r.threads);
  if (adapter) o.adapters = {*adapter};
  try {
    return std::make_unique<ReferenceProgram>(o);
  } catch (const Error& e) {
    const bool adapter_error = std::string(e.what()).rfind("adapter '", 0) == 0;
    if (!adapter || !adapter_error || r.adapter_files.size() == 2) throw;
    throw Error(std::string(e.what()) + " (paths as recorded in the export_flags of " + file.path() +
                "; give --adapter CKPT CONFIG to point elsewhere)");
  }
}

// The file and the reference must describe the same model.
void check_same_model(const ParityRequest& r, const runtime::LoadedProgram& file, const runtime::Runner& file_runner,
                      const runtime::LoadedProgram& ref, const runtime::Runner& ref_runner) {
  auto mismatch = [&](const std::string& what, int64_t in_file, int64_t in_ref) {
    throw Error(file.path() + ": " + what + " is " + std::to_string(in_file) + " but the model built from " +
                r.checkpoint + (r.params.empty() ? "" : " and " + r.params) + " has " + std::to_string(in_ref) +
                " (was the file exported from them?)");
  };
  if (file_runner.layout().vocab_size != ref_runner.layout().vocab_size)
    mismatch(meta::kVocabSize, file_runner.layout().vocab_size, ref_runner.layout().vocab_size);
  for (const char* key : {meta::kLayers, meta::kHeadDim, meta::kHeadsPerCache})
    if (file.has_metadata(key) && ref.has_metadata(key) && file.metadata_int(key) != ref.metadata_int(key))
      mismatch(key, file.metadata_int(key), ref.metadata_int(key));
}

std::vector<int32_t> prompt_of(const ParityRequest& r, const runtime::LoadedProgram& file, int64_t vocab) {
  if (!r.prompt_text.empty()) {
    std::optional<runtime::FileTokenizer> text = runtime::open_tokenizer(file, "", vocab);
    if (!text) throw Error("--prompt: " + file.path() + " carries no tokenizer (export it with --tokenizer); give --prompt_ids");
    std::vector<int32_t> ids = text->encode_prompt(r.prompt_text, false);
    if (ids.empty()) throw Error("--prompt: the text encodes to no tokens");
    return ids;
  }
  for (int32_t id : r.prompt_ids)
    if (id < 0 || id >= vocab)
      throw Error("prompt token " + std::to_string(id) + " is outside the vocabulary of " + file.path() +
                  " (vocab_size " + std::to_string(vocab) + ")");
  if (r.prompt_ids.empty()) throw Error("the prompt needs at least one token");
  return r.prompt_ids;
}

runtime::Generation teacher_forced(runtime::Runner& runner, const std::vector<int32_t>& sequence) {
  runtime::GenerateOptions options;
  options.max_new_tokens = 0;
  options.keep_logits = true;
  return runner.generate(sequence, options);
}

}  // namespace

ParityReport check_parity(const runtime::LoadedProgram& file, const ParityRequest& r) {
  const auto t0 = Clock::now();
  if (r.tokens < 1) throw Error("--tokens must be at least 1, found " + std::to_string(r.tokens));
  if (!r.adapter_files.empty() && r.adapter_files.size() != 2) throw Error("--adapter takes two paths: CKPT CONFIG");
  ParityReport report;

  runtime::Runner file_runner(file, r.method);  // a Full method or a prefill/decode pair; throws listing the names
  ExportShape shape = export_shape_of(file, file_runner.layout());
  std::optional<AdapterSpec> adapter;
  if (const auto* name = file_runner.graph().method().adapter()) {
    adapter = adapter_spec(r, file, std::string(runtime::view(name)));
    report.adapter = adapter->name;
  } else if (!r.adapter_files.empty()) {
    throw Error("--adapter: method '" + r.method + "' of " + file.path() + " is a base method, not a LoRA adapter's");
  }

  const int64_t vocab = file_runner.layout().vocab_size;
  std::vector<int32_t> sequence = prompt_of(r, file, vocab);
  const int64_t context = std::min(file_runner.layout().max_context_len, shape.max_context_len);
  const int64_t positions = std::min(r.tokens, context);
  if (static_cast<int64_t>(sequence.size()) > positions)
    throw Error("the prompt has " + std::to_string(sequence.size()) + " tokens, more than the " +
                std::to_string(positions) + " positions to compare (--tokens " + std::to_string(r.tokens) +
                ", max_context_len " + std::to_string(context) + ")");
  report.prompt = sequence;

  // A pair's cache holds max_context_len - 1 positions; a Full reference with T = input_len gets
  // the same cache length from max_context_len + input_len - 1 (its extra RoPE rows go unused).
  if (file_runner.is_pair()) shape.max_context_len += shape.input_len - 1;

  const std::unique_ptr<ReferenceProgram> reference = build_reference(r, file, shape, adapter);
  const runtime::LoadedProgram& ref = reference->program();
  runtime::Runner ref_runner(ref, adapter ? adapter->name : "forward",
                             runtime::ExecutorOptions{.kind = runtime::ExecutorKind::Reference, .threads = 0, .cpu_variant = {}});
  check_same_model(r, file, file_runner, ref, ref_runner);
  report.viewed_weights = reference->viewed_weights();
  report.computed_weights = reference->computed_weights();
  report.assemble_seconds = seconds_since(t0);

  // The file's continuation comes with the file's logits of every position (the calls that
  // generate it are the calls that teacher-force it); the reference's needs a second pass.
  auto t = Clock::now();
  runtime::Generation found;
  if (static_cast<int64_t>(sequence.size()) < positions) {
    runtime::GenerateOptions options;
    options.max_new_tokens = positions - static_cast<int64_t>(sequence.size()) + (r.reference_continuation ? 0 : 1);
    options.keep_logits = !r.reference_continuation;
    runtime::Generation g = (r.reference_continuation ? ref_runner : file_runner).generate(sequence, options);
    const size_t take = std::min(g.tokens.size(), static_cast<size_t>(positions) - sequence.size());
    sequence.insert(sequence.end(), g.tokens.begin(), g.tokens.begin() + static_cast<std::ptrdiff_t>(take));
    if (!r.reference_continuation && g.logits_rows >= sequence.size()) {  // else (the context filled up) below
      found = std::move(g);
      found.logits.resize(sequence.size() * static_cast<size_t>(vocab));
    }
  }
  report.continuation_seconds = seconds_since(t);
  t = Clock::now();
  runtime::Generation expected = teacher_forced(ref_runner, sequence);
  report.reference_seconds = seconds_since(t);
  t = Clock::now();
  if (found.logits.empty()) found = teacher_forced(file_runner, sequence);
  report.file_seconds = seconds_since(t);
  report.metrics = runtime::compare_logits(expected.logits, found.logits, static_cast<size_t>(vocab));
  report.positions = report.metrics.rows;
  report.total_seconds = seconds_since(t0);
  return report;
}

}  // namespace pte
