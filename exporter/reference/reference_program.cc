#include "exporter/reference/reference_program.h"

#include <limits>
#include <map>
#include <optional>

#include "common/error.h"
#include "exporter/packer/container_builder.h"
#include "exporter/packer/piece_serializer.h"
#include "exporter/program/llama_builder.h"
#include "exporter/version.h"
#include "passes/pipeline.h"
#include "schema/file_header.h"

namespace pte {
namespace {

uint64_t aligned(uint64_t offset) { return (offset + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment; }

// The checkpoint bytes a recipe's values are, in its source's dtype, when it is a plain view:
// no quantization, casts that only widen to float32 (exact), row steps only, a contiguous
// source. Its row order is `rows` (output row r is stored row rows[r]).
struct PlainView {
  const uint8_t* bytes = nullptr;
  uint64_t size = 0;
  DType dtype = DType::Invalid;
  std::vector<int64_t> rows;
};

std::optional<PlainView> plain_view(const WeightRecipe& recipe, const CheckpointSet& checkpoints) {
  if (recipe.quantization()) return std::nullopt;
  for (const WeightStep& s : recipe.steps)
    if (auto* cast = std::get_if<CastStep>(&s); cast && cast->to != DType::F32) return std::nullopt;
  const Checkpoint& checkpoint = checkpoints.get(recipe.checkpoint);
  const TensorView* source = checkpoint.find(recipe.source);
  if (!source) throw Error(checkpoint.path() + ": tensor '" + recipe.source + "' not found");
  if (!source->is_contiguous() || source->shape.empty()) return std::nullopt;
  if (source->dtype != DType::F32 && source->dtype != DType::F16 && source->dtype != DType::BF16) return std::nullopt;
  RowPlan plan = plan_rows(recipe, *source);
  const int64_t row_length = source->numel() / std::max<int64_t>(source->shape[0], 1);
  if (static_cast<int64_t>(plan.rows.size()) * row_length != runtime::numel(recipe.shape)) return std::nullopt;
  if (plan.rows.size() != static_cast<size_t>(source->shape[0])) return std::nullopt;  // a slice: not a whole view
  PlainView v;
  v.dtype = source->dtype;
  v.bytes = source->storage + static_cast<uint64_t>(source->offset) * element_size(source->dtype);
  v.size = storage_bytes(source->dtype, static_cast<uint64_t>(source->numel()));
  v.rows = std::move(plan.rows);
  return v;
}

bool in_order(const std::vector<int64_t>& rows) {
  for (size_t r = 0; r < rows.size(); ++r)
    if (rows[r] != static_cast<int64_t>(r)) return false;
  return true;
}

void set_constant_dtype(Graph& graph, const std::string& weight, DType dtype) {
  for (GraphValue& v : graph.values)
    if (v.weight == weight) v.dtype = dtype;
}

}  // namespace

ExportOptions reference_options(const std::string& checkpoint, const std::string& params, int64_t max_context_len,
                                int64_t input_len, int threads) {
  ExportOptions o;
  o.checkpoint = checkpoint;
  o.params = params;
  o.max_context_len = max_context_len;
  o.input_len = input_len;
  o.dtype = DType::F32;
  o.embedding_quantize = std::nullopt;
  o.linear_quantize = LinearQuantization::None;
  o.target_split_size = std::numeric_limits<int64_t>::max();  // nothing splits
  o.max_splits = 1;
  o.graph_breaks = false;
  o.threads = threads;
  return o;
}

ReferenceProgram::ReferenceProgram(const ExportOptions& o) : model_(open_model(o)) {
  Program program = build_llama_program(model_.params, *model_.checkpoint, o, model_.adapters);
  run_pipeline(program, o);
  const CheckpointSet checkpoints = model_.checkpoints();

  // Weights: views where they can be, else computed now. Each gets a virtual place in the data
  // segment after the small blobs; its bytes stay where they are.
  struct Weight {
    std::string key;
    runtime::ExternalBlob bytes;
  };
  std::vector<Weight> weights;
  for (auto& [key, recipe] : program.weights) {
    if (std::optional<PlainView> v = plain_view(recipe, checkpoints)) {
      runtime::ExternalBlob blob{v->bytes, v->size, nullptr};
      if (!in_order(v->rows)) {
        if (v->rows.size() > std::numeric_limits<uint32_t>::max()) throw Error("internal: too many rows in " + key);
        row_orders_.emplace_back(v->rows.begin(), v->rows.end());
        blob.row_order = row_orders_.back().data();  // a vector's data does not move with the outer vector
      }
      recipe.dtype = v->dtype;
      for (Method& m : program.methods) {
        set_constant_dtype(m.graph, key, v->dtype);
        for (Piece& p : m.pieces) set_constant_dtype(p.graph, key, v->dtype);
      }
      weights.push_back({key, blob});
      ++viewed_;
      continue;
    }
    std::vector<std::vector<uint8_t>> blobs;
    WeightStats stats;
    compute_weight(recipe, checkpoints, blobs, stats);
    const std::vector<std::string> keys = recipe.blob_keys();
    for (size_t b = 0; b < keys.size(); ++b) {
      computed_.push_back(std::move(blobs[b]));
      weights.push_back({keys[b], {computed_.back().data(), computed_.back().size(), nullptr}});
    }
  }

  // Small blobs (piece payloads, metadata tensors) are stored in the image, as a file stores them.
  std::vector<BlobRecord> records;
  std::vector<uint8_t> segment;
  auto store = [&](const std::string& key, const std::vector<uint8_t>& bytes) {
    const uint64_t offset = aligned(segment.size());
    segment.resize(offset, 0);
    segment.insert(segment.end(), bytes.begin(), bytes.end());
    records.push_back(BlobRecord{key, offset, bytes.size(), kBlobAlignment, {}});
  };
  for (const Method& m : program.methods)
    for (size_t i = 0; i < m.pieces.size(); ++i) store(piece_payload_key(m, i), serialize_piece_graph(m.pieces[i].graph));
  for (const auto& [key, value] : program.metadata)
    if (auto* t = std::get_if<BytesTensor>(&value)) store(metadata_blob_key(key), t->bytes);
  uint64_t end = segment.size();
  runtime::InMemoryProgram image;
  for (const Weight& w : weights) {
    const uint64_t offset = aligned(end);
    records.push_back(BlobRecord{w.key, offset, w.bytes.size, kBlobAlignment, {}});
    image.external[w.key] = w.bytes;
    end = offset + w.bytes.size;
  }

  image.name = "the float32 reference of " + o.checkpoint;
  image.image = file_head(build_container(program, records, PTE_VERSION_STRING), end);
  image.file_size = image.image.size() + end;
  image.image.insert(image.image.end(), segment.begin(), segment.end());
  program_ = std::make_unique<runtime::LoadedProgram>(std::move(image));
}

}  // namespace pte
