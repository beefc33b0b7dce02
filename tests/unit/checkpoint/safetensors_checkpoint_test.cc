#include <gtest/gtest.h>

#include <cstring>

#include "exporter/checkpoint/checkpoint.h"
#include "test_files.h"

namespace pte {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

// u64 LE header length, the header, then `data`.
std::string safetensors_bytes(const std::string& header, const std::string& data,
                              uint64_t stated_length) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>(stated_length >> (8 * i));
  return out + header + data;
}

std::string open_error(const std::string& name, const std::string& header,
                       const std::string& data = std::string(16, '\0')) {
  const std::string path =
      test::write_scratch(name, safetensors_bytes(header, data, header.size()));
  return test::error_of([&] { open_checkpoint(path); });
}

// model.safetensors (written by make_checkpoint_fixtures.py): emb F32 [2, 3] = 0..5,
// half F16 [0.5, -2], brain BF16 [1.5, 3], ids I64 [-1, 0, 5], mask BOOL [2].
TEST(SafetensorsCheckpoint, ReadsTensorsInHeaderOrder) {
  auto c = open_checkpoint(test::fixture("model.safetensors"));
  std::vector<std::string> names;
  for (const TensorView& t : c->tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"emb", "half", "brain", "ids"}));

  const TensorView& emb = *c->find("emb");
  EXPECT_EQ(emb.dtype, DType::F32);
  EXPECT_EQ(emb.shape_string(), "[2, 3]");
  EXPECT_EQ(emb.strides, (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(emb.is_contiguous());
  std::vector<float> f(6);
  emb.read_f32(f.data());
  EXPECT_EQ(f, (std::vector<float>{0, 1, 2, 3, 4, 5}));

  float h[2], b[2];
  c->find("half")->read_f32(h);
  c->find("brain")->read_f32(b);
  EXPECT_EQ(h[0], 0.5f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(b[0], 1.5f);
  EXPECT_EQ(b[1], 3.0f);

  int64_t ids[3];
  c->find("ids")->read_raw(reinterpret_cast<uint8_t*>(ids));
  EXPECT_EQ(ids[0], -1);
  EXPECT_EQ(ids[2], 5);

  EXPECT_EQ(c->find("mask"), nullptr);
  ASSERT_EQ(c->notes().size(), 1u);
  EXPECT_CONTAINS(c->notes()[0], "'mask' of dtype BOOL");
}

TEST(SafetensorsCheckpoint, RejectsOverlappingRanges) {
  const std::string message = open_error(
      "overlap.safetensors", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})");
  EXPECT_CONTAINS(message, "overlap.safetensors");
  EXPECT_CONTAINS(message, "'a' and 'b' have overlapping data_offsets");
}

TEST(SafetensorsCheckpoint, RejectsOffsetsOutsideData) {
  const std::string message = open_error(
      "outside.safetensors", R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})");
  EXPECT_CONTAINS(message, "tensor 'a'");
  EXPECT_CONTAINS(message, "outside the data area of 16 bytes");
}

TEST(SafetensorsCheckpoint, RejectsShapeThatDoesNotMatchLength) {
  const std::string message = open_error(
      "length.safetensors", R"({"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,8]}})");
  EXPECT_CONTAINS(message, "tensor 'a'");
  EXPECT_CONTAINS(message, "needs 12 bytes");
}

TEST(SafetensorsCheckpoint, RejectsUnknownDtype) {
  const std::string message =
      open_error("dtype.safetensors", R"({"a":{"dtype":"F7","shape":[2],"data_offsets":[0,2]}})");
  EXPECT_CONTAINS(message, "tensor 'a': unknown dtype \"F7\"");
}

TEST(SafetensorsCheckpoint, RejectsNegativeDimension) {
  const std::string message = open_error(
      "negative.safetensors", R"({"a":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}})");
  EXPECT_CONTAINS(message, "tensor 'a': shape dimension is -1");
}

TEST(SafetensorsCheckpoint, RejectsOverflowingShape) {
  const std::string message =
      open_error("overflow.safetensors",
                 R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})");
  EXPECT_CONTAINS(message, "too many elements");
}

TEST(SafetensorsCheckpoint, RejectsHeaderLengths) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const std::string huge =
      test::write_scratch("huge.safetensors", safetensors_bytes(header, "abcd", uint64_t{1} << 40));
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(huge); }), "exceeds the limit");
  const std::string past =
      test::write_scratch("past.safetensors", safetensors_bytes(header, "abcd", header.size() + 5));
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(past); }), "exceeds the");
}

TEST(SafetensorsCheckpoint, RejectsBadJsonAndMetadata) {
  EXPECT_CONTAINS(open_error("json.safetensors", "{\"a\": [1, "), "not valid JSON");
  EXPECT_CONTAINS(open_error("meta.safetensors", R"({"__metadata__":{"n":1}})"),
                  "__metadata__ field 'n' is not a string");
  EXPECT_CONTAINS(open_error("field.safetensors", R"({"a":{"dtype":"F32","shape":[1]}})"),
                  "tensor 'a': field 'data_offsets' is missing");
}

TEST(SafetensorsCheckpoint, UnreadDtypesAreNamed) {
  auto c = open_checkpoint(test::fixture("model.safetensors"));
  ASSERT_NE(c->unread_dtype("mask"), nullptr);
  EXPECT_EQ(*c->unread_dtype("mask"), "BOOL");
  EXPECT_EQ(c->unread_dtype("emb"), nullptr);
}

TEST(SafetensorsCheckpoint, DuplicateTensorNamesAreRefused) {
  const std::string e = open_error(
      "dup.safetensors",
      R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})");
  EXPECT_CONTAINS(e, "dup.safetensors: header: key 'a' appears twice in one JSON object");
}

TEST(SafetensorsCheckpoint, DeepHeaderIsRefusedWithoutCrashing) {
  std::string header = "{\"a\": ";
  for (int i = 0; i < 100000; ++i) header += '[';
  for (int i = 0; i < 100000; ++i) header += ']';
  header += '}';
  EXPECT_CONTAINS(open_error("deep.safetensors", header), "deep.safetensors: header: JSON nested deeper than 64 levels");
}

TEST(SafetensorsCheckpoint, MillionAndAHalfEntriesParseInLinearithmicTime) {
  // 1.5M zero-size tensors (88 MB of header): parsed, tensor order kept, lookups by name.
  std::string header = "{";
  for (int i = 0; i < 1500000; ++i) {
    if (i) header += ',';
    header += "\"t" + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
  }
  header += '}';
  const std::string path =
      test::write_scratch("many.safetensors", safetensors_bytes(header, "", header.size()));
  auto c = open_checkpoint(path);
  ASSERT_EQ(c->tensors().size(), 1500000u);
  EXPECT_EQ(c->tensors()[1234567].name, "t1234567");
  EXPECT_EQ(c->find("t999")->name, "t999");
}

}  // namespace
}  // namespace pte
