// Loading: accessors on a valid file, and every kind of corrupt file is a pte::Error (never a
// crash), including every single-byte change of the flatbuffer and payload regions.
#include <gtest/gtest.h>

#include <google/protobuf/stubs/logging.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "common/error.h"
#include "runner/runner.h"
#include "schema/file_header.h"
#include "tests/unit/runtime/tiny_programs.h"

namespace pte::runtime {
namespace {

using Bytes = std::vector<uint8_t>;

std::string write_bytes(const Bytes& bytes) {
  std::string path = testing::temp_file("corrupt.pte");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
  return path;
}

FileHeader header_of(const Bytes& bytes) {
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

void set_header(Bytes& bytes, const FileHeader& h) { std::memcpy(bytes.data(), &h, sizeof h); }

// Opens the file and runs one call of "forward"; returns "" when that worked, else the message
// of the pte::Error. Any other exception fails the test (a crash ends it).
std::string open_and_run(const std::string& path) {
  try {
    LoadedProgram program(path);
    Runner runner(program);
    runner.step(std::vector<int32_t>{1, 2});
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

void expect_rejected(const Bytes& bytes, const std::string& what) {
  std::string path = write_bytes(bytes);
  std::string message = open_and_run(path);
  EXPECT_FALSE(message.empty()) << "accepted: " << what;
  EXPECT_NE(message.find(path), std::string::npos) << what << ": message does not name the file: " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << what << ": message is not one line";
}

TEST(RuntimeLoader, ValidFileAccessors) {
  std::string path = testing::temp_file("ring.pte");
  testing::ring_model().write(path);
  LoadedProgram p(path, {.check_hashes = true});
  EXPECT_EQ(p.method_names(), (std::vector<std::string>{"forward"}));
  EXPECT_EQ(p.metadata_int("vocab_size"), 16);
  EXPECT_EQ(p.metadata_text("dtype"), "fp32");
  IntTensorValue kv = p.metadata_int_tensor("kv_cache_specs");
  EXPECT_EQ(kv.shape, (Shape{1, 5}));
  EXPECT_EQ(kv.values, (std::vector<int64_t>{4, 1, 5, 2, 5}));
  Tensor cos = p.metadata_blob_tensor("freqs_cos");
  EXPECT_EQ(cos.shape, (Shape{8, 1}));
  EXPECT_TRUE(cos.is_constant());
  EXPECT_NE(p.find_blob("wout"), nullptr);
  EXPECT_EQ(p.find_blob("zzz"), nullptr);
  EXPECT_EQ(p.blob_bytes("wout").size(), 16u * 2 * 4);
  EXPECT_THROW(p.metadata_int("missing"), Error);
  EXPECT_THROW(p.metadata_int("kv_cache_specs"), Error);  // not a scalar
  EXPECT_THROW(p.metadata_text("vocab_size"), Error);
  EXPECT_THROW(p.metadata_blob_tensor("dtype"), Error);
  EXPECT_THROW(p.method("prefill"), Error);
  EXPECT_THROW(LoadedProgram("/nonexistent.pte"), Error);
}

TEST(RuntimeLoader, RejectsTruncatedFiles) {
  Bytes good = testing::ring_model().build();
  FileHeader h = header_of(good);
  for (size_t n : {size_t{0}, size_t{1}, size_t{8}, size_t{63}, size_t{64}, size_t{65},
                   size_t(h.flatbuffer_offset + h.flatbuffer_size / 2), size_t(h.flatbuffer_offset + h.flatbuffer_size),
                   size_t(h.segment_offset), size_t(h.segment_offset + h.segment_size / 2), good.size() - 1})
    expect_rejected(Bytes(good.begin(), good.begin() + static_cast<ptrdiff_t>(n)), "truncated to " + std::to_string(n));
  Bytes appended = good;
  appended.push_back(0);
  expect_rejected(appended, "one byte appended");
}

TEST(RuntimeLoader, RejectsBadHeaders) {
  const Bytes good = testing::ring_model().build();
  const FileHeader h = header_of(good);
  std::vector<std::pair<std::string, std::function<void(FileHeader&)>>> cases = {
      {"magic", [](FileHeader& x) { x.magic[0] = 'X'; }},
      {"header_size", [](FileHeader& x) { x.header_size = 32; }},
      {"format_version", [](FileHeader& x) { x.format_version = 3; }},
      {"reserved", [](FileHeader& x) { x.reserved = 1; }},
      {"container digest", [](FileHeader& x) { x.container_sha256[5] ^= 1; }},
      {"file_size", [](FileHeader& x) { x.file_size += 1; }},
      {"flatbuffer_offset past the end", [](FileHeader& x) { x.flatbuffer_offset = x.file_size + 1; }},
      {"flatbuffer_offset inside the header", [](FileHeader& x) { x.flatbuffer_offset = 8; }},
      {"flatbuffer_size huge", [](FileHeader& x) { x.flatbuffer_size = ~uint64_t{0}; }},
      {"flatbuffer_size short", [](FileHeader& x) { x.flatbuffer_size /= 2; }},
      {"segment misaligned", [](FileHeader& x) { x.segment_offset += 128; }},
      {"segment overlaps the flatbuffer", [h](FileHeader& x) { x.flatbuffer_size = h.segment_offset; }},
      {"segment_size huge", [](FileHeader& x) { x.segment_size = ~uint64_t{0} - 5; }},
      {"segment_size short", [](FileHeader& x) { x.segment_size = 64; }},
  };
  for (auto& [what, change] : cases) {
    Bytes bytes = good;
    FileHeader bad = h;
    change(bad);
    set_header(bytes, bad);
    expect_rejected(bytes, what);
  }
}

TEST(RuntimeLoader, RejectsBadContainerContents) {
  using testing::PteWriter;
  std::vector<std::pair<std::string, std::function<void(PteWriter&)>>> cases = {
      {"wrong identifier", [](PteWriter& w) { w.identifier = "ET12"; }},
      {"flatbuffer format_version", [](PteWriter& w) { w.flatbuffer_format_version = 7; }},
      {"blob offset past the segment", [](PteWriter& w) { w.offset_override["wout"] = 1 << 20; }},
      {"blob offset overflowing", [](PteWriter& w) { w.offset_override["wout"] = ~uint64_t{0} - 127; }},
      {"blob misaligned", [](PteWriter& w) { w.offset_override["wout"] = 64; }},
      {"blob alignment zero", [](PteWriter& w) { w.alignment_override["wout"] = 0; }},
      {"blob keys unsorted", [](PteWriter& w) { w.sort_blobs = false; }},
      {"blob key twice", [](PteWriter& w) {
         w.add_floats("wq", {0, 0, 0, 0});
       }},
      {"payload key missing", [](PteWriter& w) {
         testing::MethodDesc m;
         m.name = "other";
         m.pieces = {{"no.such.payload", {}, {}}};
         w.add_method(m);
       }},
      {"metadata blob missing", [](PteWriter& w) { w.meta_blob_tensor("extra", "nope", DType::F32, {1}); }},
      {"metadata blob size mismatch", [](PteWriter& w) { w.meta_blob_tensor("extra", "wq", DType::F32, {5}); }},
      {"metadata int tensor count", [](PteWriter& w) { w.meta_ints("extra", {2, 2}, {1, 2, 3}); }},
      {"metadata key twice", [](PteWriter& w) { w.duplicate_metadata = true; w.meta_int("vocab_size", 16); }},
      {"duplicate method", [](PteWriter& w) {
         testing::MethodDesc m;
         m.name = "forward";
         w.add_method(m);
       }},
      {"io spec with invalid dtype", [](PteWriter& w) {
         testing::MethodDesc m;
         m.name = "other";
         m.inputs = {{"x", static_cast<DType>(99), {1}, fb::IORole::Tokens}};
         w.add_method(m);
       }},
      {"io spec with a huge shape", [](PteWriter& w) {
         testing::MethodDesc m;
         m.name = "other";
         m.inputs = {{"x", DType::F32, {1 << 30, 1 << 30}, fb::IORole::Tokens}};
         w.add_method(m);
       }},
  };
  for (auto& [what, change] : cases) {
    PteWriter w = testing::ring_model();
    change(w);
    expect_rejected(w.build(), what);
  }
}

TEST(RuntimeLoader, RejectsMetadataTheRunnerCannotUse) {
  using testing::PteWriter;
  std::vector<std::pair<std::string, std::function<void(PteWriter&)>>> cases = {
      {"mask index out of range", [](PteWriter& w) { w.meta_ints("mask_specs", {1, 2}, {9, 5}); }},
      {"mask cache_len disagrees", [](PteWriter& w) { w.meta_ints("mask_specs", {1, 2}, {1, 4}); }},
      {"mask_specs shape", [](PteWriter& w) { w.meta_ints("mask_specs", {2}, {1, 5}); }},
      {"kv_cache_specs pairs the wrong roles", [](PteWriter& w) { w.meta_ints("kv_cache_specs", {1, 5}, {5, 1, 4, 2, 5}); }},
      {"kv_cache_specs negative index", [](PteWriter& w) { w.meta_ints("kv_cache_specs", {1, 5}, {-1, 1, 5, 2, 5}); }},
      {"kv_cache_specs binds an input twice", [](PteWriter& w) {
         w.erase_meta("n_layers");
         w.meta_ints("kv_cache_specs", {2, 5}, {4, 1, 5, 2, 5, 4, 1, 5, 2, 5});
       }},
      {"vocab_size disagrees with the logits", [](PteWriter& w) { w.meta_int("vocab_size", 17); }},
      {"head_dim disagrees with the caches", [](PteWriter& w) { w.meta_int("head_dim", 4); }},
      {"forward_input_len disagrees", [](PteWriter& w) { w.meta_int("forward_input_len", 4); }},
      {"freqs table of another width", [](PteWriter& w) { w.meta_blob_tensor("freqs_cos", "wq", DType::F32, {2, 2}); }},
      {"freqs_cos index names the mask", [](PteWriter& w) { w.meta_int("freqs_cos_input_index", 1); }},
      {"freqs_sin missing", [](PteWriter& w) { w.erase_meta("freqs_sin"); }},
      {"max_context_len disagrees", [](PteWriter& w) { w.meta_int("max_context_len", 9); }},
      {"n_layers disagrees", [](PteWriter& w) { w.meta_int("n_layers", 2); }},
  };
  for (auto& [what, change] : cases) {
    PteWriter w = testing::ring_model();
    change(w);
    expect_rejected(w.build(), what);
  }
}

TEST(RuntimeLoader, HashCheckFindsAChangedBlob) {
  Bytes bytes = testing::ring_model().build();
  FileHeader h = header_of(bytes);
  std::string clean = write_bytes(bytes);
  EXPECT_NO_THROW(LoadedProgram(clean, {.check_hashes = true}));
  bytes[h.segment_offset + h.segment_size - 1] ^= 0x40;  // inside the last blob
  std::string changed = write_bytes(bytes);
  EXPECT_NO_THROW(LoadedProgram(changed, {.check_hashes = false}));
  EXPECT_THROW(LoadedProgram(changed, {.check_hashes = true}), Error);
  EXPECT_THROW(LoadedProgram{changed}, Error);  // checked by default
  LoadedProgram p(changed, {.check_hashes = false});
  EXPECT_THROW(p.verify_hashes(), Error);
}

TEST(RuntimeLoader, VersionOneFilesAreRejectedWithAClearMessage) {
  Bytes bytes = testing::ring_model().build();
  FileHeader h = header_of(bytes);
  h.format_version = 1;
  h.header_size = 64;
  set_header(bytes, h);
  const std::string path = write_bytes(bytes);
  try {
    LoadedProgram p(path);
    FAIL() << "a version 1 file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": format_version is 1, written by pte 0.1 without a container digest; "
                                            "this reader needs version 2: export the file again with this pte");
  }
}

TEST(RuntimeLoader, AnyChangeOutsideTheSegmentBreaksTheContainerDigest) {
  const Bytes good = testing::ring_model().build();
  const FileHeader h = header_of(good);
  for (uint64_t i : {uint64_t{20}, uint64_t{kHeaderSize + 4}, uint64_t{kHeaderSize + h.flatbuffer_size / 2},
                     h.segment_offset - 1}) {
    Bytes bytes = good;
    bytes[i] ^= 0x01;
    const std::string path = write_bytes(bytes);
    std::string message;
    try {
      LoadedProgram p(path, {.check_hashes = false});
    } catch (const Error& e) {
      message = e.what();
    }
    EXPECT_FALSE(message.empty()) << "byte " << i << " changed and accepted";
  }
}

// Each byte of the flatbuffer and of the payload blob, changed in two ways: open and run must
// either work or throw pte::Error.
TEST(RuntimeLoader, NoSingleByteChangeCrashes) {
  google::protobuf::LogSilencer quiet;  // invalid UTF-8 in a payload string is logged otherwise
  const Bytes good = testing::ring_model().build();
  const FileHeader h = header_of(good);
  LoadedProgram reference(write_bytes(good));
  const fb::Blob* payload = reference.find_blob("forward.piece0");
  ASSERT_NE(payload, nullptr);
  std::vector<std::pair<size_t, size_t>> regions = {
      {h.flatbuffer_offset, h.flatbuffer_offset + h.flatbuffer_size},
      {h.segment_offset + payload->offset(), h.segment_offset + payload->offset() + payload->size()}};
  std::string path = testing::temp_file("flip.pte");
  size_t cases = 0, rejected = 0;
  for (auto [begin, end] : regions)
    for (size_t i = begin; i < end; ++i)
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xff}}) {
        Bytes bytes = good;
        bytes[i] ^= mask;
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        ++cases;
        if (!open_and_run(path).empty()) ++rejected;
      }
  EXPECT_GT(rejected, cases / 4) << "suspiciously few corrupt files were rejected";
  RecordProperty("cases", static_cast<int>(cases));
}

}  // namespace
}  // namespace pte::runtime
