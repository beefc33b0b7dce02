#pragma once
// An opened .pte file: mapped into memory and validated (header, container digest, FlatBuffers
// verifier, blob bounds and references, and by default every blob's SHA-256) before anything
// is used. Lists the file's methods, blobs and metadata. See share/pte/FORMAT.md.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pte/result.h"
#include "pte/status.h"

namespace pte {

namespace detail {
struct ProgramState;
}

/// How Program::open checks a file.
struct OpenOptions {
  /// Compare every blob with its SHA-256 on open. The container digest is always checked.
  bool check_hashes = true;
};

/// A method input or output (FORMAT.md §3).
struct TensorInfo {
  std::string name;            ///< e.g. "tokens", "k_cache_0", "logits".
  std::string dtype;           ///< "fp32", "fp16", "bf16", "int32", "int64", "int8", "uint8" or "int4".
  std::vector<int64_t> shape;  ///< Static shape.
  std::string role;            ///< "tokens", "mask", "freqs_cos", ..., "logits", "k_update", "v_update".
  int32_t layer = -1;          ///< Layer of a cache or cache update; -1 otherwise.
};

/// A method of the file (FORMAT.md §3).
struct MethodInfo {
  std::string name;                 ///< e.g. "forward", "prefill".
  std::string role;                 ///< "full", "decode" or "prefill".
  std::string adapter;              ///< LoRA adapter name; empty for base methods.
  std::vector<TensorInfo> inputs;   ///< In call order.
  std::vector<TensorInfo> outputs;  ///< In result order.
  size_t pieces = 0;                ///< Number of pieces the method runs.
};

/// A named byte range of the data segment (FORMAT.md §2).
struct BlobInfo {
  std::string key;      ///< e.g. "tok_embeddings.weight:fp32".
  uint64_t offset = 0;  ///< From the start of the data segment.
  uint64_t size = 0;    ///< In bytes.
  std::string sha256;   ///< Lowercase hex digest of the bytes.
};

/// What kind of value a metadata entry holds (FORMAT.md §2, §4).
enum class MetadataKind {
  Ints,  ///< An integer tensor (a scalar has an empty shape).
  Text,  ///< UTF-8 text.
  Blob,  ///< A tensor whose bytes are a blob.
};

/// One metadata entry, without its value.
struct MetadataInfo {
  std::string key;    ///< e.g. "vocab_size", "general.name".
  MetadataKind kind;  ///< What the value is.
};

/// A validated .pte file. Movable, cheap to copy (copies share the mapping); a Generator
/// made from it keeps the mapping alive.
class Program {
 public:
  /// Maps and validates the file at `path`. Fails with ErrorCode::InvalidInput and a message
  /// naming the file and the field at fault when it is not a valid .pte.
  static Result<Program> open(const std::string& path, const OpenOptions& options = {});

  /// The path the file was opened from.
  const std::string& path() const;
  /// The file's size in bytes.
  uint64_t file_size() const;
  /// The format version of the file (2).
  uint32_t format_version() const;
  /// The writer's version, e.g. "pte 0.2.0".
  std::string exporter_version() const;
  /// The header's container_sha256 (lowercase hex): the digest of every byte outside the data
  /// segment, checked on open.
  std::string container_sha256() const;

  /// Every method, in file order.
  std::vector<MethodInfo> methods() const;
  /// Every blob, sorted by key.
  std::vector<BlobInfo> blobs() const;
  /// Checks every blob against its SHA-256 (what OpenOptions::check_hashes does on open).
  Status verify_hashes() const;

  /// Every metadata entry, sorted by key.
  std::vector<MetadataInfo> metadata() const;
  /// A Text entry. NotFound when absent, InvalidArgument when of another kind.
  Result<std::string> metadata_text(std::string_view key) const;
  /// The values of an integer tensor entry (row-major). NotFound when absent, InvalidArgument
  /// when of another kind.
  Result<std::vector<int64_t>> metadata_ints(std::string_view key) const;

 private:
  friend class Generator;
  explicit Program(std::shared_ptr<const detail::ProgramState> state) : state_(std::move(state)) {}
  std::shared_ptr<const detail::ProgramState> state_;
};

}  // namespace pte
