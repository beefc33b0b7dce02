#include "exporter/checkpoint/safetensors_checkpoint.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_input.h"
#include "exporter/checkpoint/mapped_checkpoint.h"

namespace pte {

namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct SafetensorsType {
  const char* name;
  size_t element_size;
  DType dtype;  // Invalid: listed in notes, not read
};

const SafetensorsType kTypes[] = {
    {"F32", 4, DType::F32},      {"F16", 2, DType::F16},         {"BF16", 2, DType::BF16},
    {"I64", 8, DType::I64},      {"I32", 4, DType::I32},         {"I8", 1, DType::I8},
    {"U8", 1, DType::U8},        {"F64", 8, DType::Invalid},     {"I16", 2, DType::Invalid},
    {"U16", 2, DType::Invalid},  {"U32", 4, DType::Invalid},     {"U64", 8, DType::Invalid},
    {"BOOL", 1, DType::Invalid}, {"F8_E4M3", 1, DType::Invalid}, {"F8_E5M2", 1, DType::Invalid},
};

const SafetensorsType* type_by_name(const std::string& name) {
  for (const SafetensorsType& t : kTypes)
    if (name == t.name) return &t;
  return nullptr;
}

struct Range {
  uint64_t begin, end;
  std::string name;
};

class SafetensorsReader {
 public:
  explicit SafetensorsReader(MappedCheckpoint& checkpoint)
      : checkpoint_(checkpoint), path_(checkpoint.path()), file_(checkpoint.file()) {}

  void read() {
    if (file_.size() < 8)
      fail("file of " + std::to_string(file_.size()) + " bytes has no header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = header_len << 8 | file_.data()[i];
    if (header_len > kMaxHeaderBytes)
      fail("header length " + std::to_string(header_len) + " exceeds the limit of " +
           std::to_string(kMaxHeaderBytes) + " bytes");
    if (header_len > file_.size() - 8)
      fail("header length " + std::to_string(header_len) + " exceeds the " +
           std::to_string(file_.size() - 8) + " bytes after it");
    const char* header = reinterpret_cast<const char*>(file_.data() + 8);
    data_ = file_.data() + 8 + header_len;
    data_size_ = file_.size() - 8 - header_len;

    // Entry by entry, in header order (the tensor order), without holding the whole header as
    // one value. A repeated name is refused there: "the last one wins" would hide a tensor.
    const std::string_view text(header, header_len);
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || text[first] != '{') fail("header is not a JSON object");
    std::vector<Range> ranges;
    parse_untrusted_json_members(text, path_ + ": header", [&](const std::string& name, Json&& entry) {
      if (name == "__metadata__") {
        check_metadata(entry);
        return;
      }
      Range range = add_tensor(name, entry);
      if (range.end > range.begin) ranges.push_back(std::move(range));  // empty ranges overlap nothing
    });
    check_overlaps(ranges);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(path_ + ": " + what); }

  void check_metadata(const Json& metadata) const {
    if (!metadata.is_object()) fail("__metadata__ is not an object of strings");
    for (const auto& [key, value] : metadata.items())
      if (!value.is_string()) fail("__metadata__ field '" + key + "' is not a string");
  }

  uint64_t checked_uint(const Json& v, const std::string& what) const {
    if (!v.is_number_unsigned())  // non-negative integer literals parse as unsigned
      fail(what + " is " + v.dump() + ", expected an integer >= 0");
    return v.get<uint64_t>();
  }

  Range add_tensor(const std::string& name, const Json& entry) {
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) fail(where + ": entry is not an object");
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(field)) fail(where + ": field '" + field + "' is missing");
    for (const auto& [key, value] : entry.items())
      if (key != "dtype" && key != "shape" && key != "data_offsets")
        fail(where + ": unknown field '" + key + "'");

    const Json& dtype = entry["dtype"];
    if (!dtype.is_string()) fail(where + ": dtype is " + dtype.dump() + ", expected a string");
    const SafetensorsType* type = type_by_name(dtype.get<std::string>());
    if (!type) fail(where + ": unknown dtype " + dtype.dump());

    const Json& shape = entry["shape"];
    if (!shape.is_array() || shape.size() > 64)
      fail(where + ": shape is not an array of at most 64 dims");
    std::vector<int64_t> dims;
    unsigned __int128 numel = 1;
    for (const Json& d : shape) {
      const uint64_t n = checked_uint(d, where + ": shape dimension");
      if (n > static_cast<uint64_t>(INT64_MAX))
        fail(where + ": shape dimension " + d.dump() + " is too large");
      numel *= n;
      if (numel > static_cast<uint64_t>(INT64_MAX))
        fail(where + ": shape " + shape.dump() + " has too many elements");
      dims.push_back(static_cast<int64_t>(n));
    }

    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
      fail(where + ": data_offsets is not [begin, end]");
    const uint64_t begin = checked_uint(offsets[0], where + ": data_offsets begin");
    const uint64_t end = checked_uint(offsets[1], where + ": data_offsets end");
    if (begin > end || end > data_size_)
      fail(where + ": data_offsets " + offsets.dump() + " lie outside the data area of " +
           std::to_string(data_size_) + " bytes");
    const unsigned __int128 bytes = numel * type->element_size;
    if (bytes != end - begin)
      fail(where + ": shape " + shape.dump() + " of " + type->name + " needs " +
           std::to_string(static_cast<uint64_t>(bytes)) + " bytes, data_offsets " + offsets.dump() +
           " span " + std::to_string(end - begin));

    if (type->dtype == DType::Invalid) {
      checkpoint_.add_unread(name, type->name);
    } else {
      TensorView view;
      view.name = name;
      view.dtype = type->dtype;
      view.shape = dims;
      view.strides.assign(dims.size(), 1);
      for (size_t i = dims.size(); i-- > 1;) view.strides[i - 1] = view.strides[i] * dims[i];
      view.storage = data_ + begin;
      view.storage_bytes = end - begin;
      checkpoint_.add_tensor(std::move(view));
    }
    return {begin, end, name};
  }

  void check_overlaps(std::vector<Range>& ranges) const {
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
      return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
    });
    for (size_t i = 1; i < ranges.size(); ++i)
      if (ranges[i].begin < ranges[i - 1].end)
        fail("tensors '" + ranges[i - 1].name + "' and '" + ranges[i].name +
             "' have overlapping data_offsets");
  }

  MappedCheckpoint& checkpoint_;
  const std::string& path_;
  const MappedFile& file_;
  const uint8_t* data_ = nullptr;
  uint64_t data_size_ = 0;
};

}  // namespace

std::unique_ptr<Checkpoint> read_safetensors_checkpoint(std::unique_ptr<MappedFile> file) {
  auto checkpoint = std::make_unique<MappedCheckpoint>(std::move(file));
  SafetensorsReader(*checkpoint).read();
  return checkpoint;
}

}  // namespace pte
