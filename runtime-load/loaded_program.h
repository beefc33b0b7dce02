#pragma once
// A .pte file mapped into memory and validated (FORMAT.md §1-§4) before anything is used:
// header, flatbuffer verifier, blob table bounds, key references, I/O specs and metadata.
// Piece payloads are validated when a method is prepared (see piece_graph.h).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mapped_file.h"
#include "runtime-load/tensor.h"
#include "schema/file_header.h"
#include "schema/pte_generated.h"

namespace pte::runtime {

struct LoadOptions {
  // Compare every blob with its SHA-256 before anything is used (the container itself is always
  // checked against the header's digest). Off only when the caller has just checked the file.
  bool check_hashes = true;
};

// A blob of an in-memory program whose bytes live elsewhere, e.g. `pte verify`'s reference: a
// checkpoint tensor read in place. When `row_order` is set, row r (along dimension 0) of the
// tensor is stored row row_order[r].
struct ExternalBlob {
  const uint8_t* bytes = nullptr;
  uint64_t size = 0;
  const uint32_t* row_order = nullptr;
};

// A program assembled in memory rather than read from a file: the bytes of a .pte up to the end
// of `image` (header, container and the start of the data segment), and the blobs that lie past
// it, given by key. `file_size` is the size the whole file would have.
struct InMemoryProgram {
  std::string name;  // names the program in messages, as a path would
  std::vector<uint8_t> image;
  uint64_t file_size = 0;
  std::map<std::string, ExternalBlob, std::less<>> external;
};

struct IntTensorValue {
  Shape shape;
  std::vector<int64_t> values;
};

class LoadedProgram {
 public:
  // Throws pte::Error (one line naming the file) when the file is not a valid .pte.
  explicit LoadedProgram(const std::string& path, LoadOptions options = {});
  // The same checks on a program in memory; blob hashes are not checked (external blobs have none).
  explicit LoadedProgram(InMemoryProgram program);

  const std::string& path() const { return name_; }
  uint64_t file_size() const { return file_size_; }
  const FileHeader& header() const { return header_; }
  const fb::Program& program() const { return *program_; }

  // Blobs. Keys are unique and sorted (checked on load).
  const fb::Blob* find_blob(std::string_view key) const;
  std::span<const uint8_t> blob_bytes(const fb::Blob& blob) const;
  std::span<const uint8_t> blob_bytes(std::string_view key) const;  // throws when absent
  // The row order of an external blob (see ExternalBlob); nullptr for blobs stored in order.
  const uint32_t* blob_row_order(const fb::Blob& blob) const;
  // Throws naming the first blob whose bytes do not match its SHA-256.
  void verify_hashes() const;

  const fb::Method* find_method(std::string_view name) const;
  const fb::Method& method(std::string_view name) const;  // throws listing the methods
  std::vector<std::string> method_names() const;

  // Metadata (FORMAT.md §4). Each accessor throws when the key is absent or of another kind.
  const fb::MetaEntry* find_metadata(std::string_view key) const;
  bool has_metadata(std::string_view key) const { return find_metadata(key) != nullptr; }
  int64_t metadata_int(std::string_view key) const;  // an IntTensor scalar
  IntTensorValue metadata_int_tensor(std::string_view key) const;
  std::string metadata_text(std::string_view key) const;
  // A BlobTensor as a constant tensor viewing the mapped bytes; read rows with read_floats.
  Tensor metadata_blob_tensor(std::string_view key) const;

  // Throws pte::Error("<path>: <what>").
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void check_blobs() const;
  void check_methods() const;
  void check_method(const fb::Method& method) const;
  void check_metadata() const;
  void load(LoadOptions options);
  bool in_image(const fb::Blob& blob) const;
  const ExternalBlob* external(const fb::Blob& blob) const;

  std::optional<MappedFile> file_;
  InMemoryProgram memory_;
  std::string name_;
  const uint8_t* data_ = nullptr;  // the file's bytes, or the image's
  uint64_t data_size_ = 0, file_size_ = 0;
  FileHeader header_{};
  const fb::Program* program_ = nullptr;
};

// Views of flatbuffer fields as standard types.
std::string_view view(const flatbuffers::String* s);
Shape to_shape(const flatbuffers::Vector<int64_t>* v);
// The common/dtype.h value of a file dtype; Invalid for numbers outside the enum.
DType to_dtype(fb::DType t);

}  // namespace pte::runtime
