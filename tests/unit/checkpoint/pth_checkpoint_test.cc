// .pth files written by torch.save (make_checkpoint_fixtures.py), both layouts, and malformed
// variants of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "exporter/checkpoint/checkpoint.h"
#include "test_files.h"

namespace pte {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

std::vector<float> values(const Checkpoint& c, const std::string& name) {
  const TensorView* t = c.find(name);
  if (!t) {
    ADD_FAILURE() << "no tensor " << name;
    return {};
  }
  std::vector<float> out(static_cast<size_t>(t->numel()));
  t->read_f32(out.data());
  return out;
}

bool has_note(const Checkpoint& c, const std::string& part) {
  return std::any_of(c.notes().begin(), c.notes().end(),
                     [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

std::string open_error(const std::string& fixture_name) {
  return test::error_of([&] { open_checkpoint(test::fixture(fixture_name)); });
}

// tensors.pth holds, in this order: w = arange(12).reshape(3, 4) fp32; h = [-0.5, -0.25, 0,
// 0.25, 0.5, 0.75] fp16 [2, 3]; b = [0, 1.5, 3, 4.5] bf16; t = w.t(); o = w.view(-1)[2:8];
// s = w[1:, 1::2]; p = Parameter([7, 8, 9]); i = arange(5) int64; d = zeros(2) float64.
void expect_tensors_fixture(const Checkpoint& c) {
  std::vector<std::string> names;
  for (const TensorView& t : c.tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"w", "h", "b", "t", "o", "s", "p", "i"}));

  const TensorView& w = *c.find("w");
  EXPECT_EQ(w.dtype, DType::F32);
  EXPECT_EQ(w.shape_string(), "[3, 4]");
  EXPECT_TRUE(w.is_contiguous());
  EXPECT_EQ(values(c, "w"), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));

  EXPECT_EQ(c.find("h")->dtype, DType::F16);
  EXPECT_EQ(c.find("h")->shape_string(), "[2, 3]");
  EXPECT_EQ(values(c, "h"), (std::vector<float>{-0.5f, -0.25f, 0, 0.25f, 0.5f, 0.75f}));
  EXPECT_EQ(c.find("b")->dtype, DType::BF16);
  EXPECT_EQ(values(c, "b"), (std::vector<float>{0, 1.5f, 3, 4.5f}));

  const TensorView& t = *c.find("t");
  EXPECT_EQ(t.shape_string(), "[4, 3]");
  EXPECT_EQ(t.strides, (std::vector<int64_t>{1, 4}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(values(c, "t"), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));

  EXPECT_EQ(c.find("o")->offset, 2);
  EXPECT_EQ(values(c, "o"), (std::vector<float>{2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(c.find("s")->offset, 5);
  EXPECT_EQ(values(c, "s"), (std::vector<float>{5, 7, 9, 11}));
  // Views of one storage share its bytes.
  EXPECT_EQ(c.find("t")->storage, w.storage);

  EXPECT_EQ(values(c, "p"), (std::vector<float>{7, 8, 9}));

  const TensorView& i = *c.find("i");
  EXPECT_EQ(i.dtype, DType::I64);
  std::vector<int64_t> ints(5);
  i.read_raw(reinterpret_cast<uint8_t*>(ints.data()));
  EXPECT_EQ(ints, (std::vector<int64_t>{0, 1, 2, 3, 4}));

  EXPECT_EQ(c.find("d"), nullptr);
  EXPECT_TRUE(has_note(c, "'d' of dtype float64")) << "float64 tensor not noted";
}

TEST(PthCheckpoint, ReadsZipWrittenByTorchSave) {
  expect_tensors_fixture(*open_checkpoint(test::fixture("tensors.pth")));
}

TEST(PthCheckpoint, ReadsLegacyFormat) {
  expect_tensors_fixture(*open_checkpoint(test::fixture("legacy.pth")));
}

TEST(PthCheckpoint, ReadsZip64WithTorch2Layout) {
  expect_tensors_fixture(*open_checkpoint(test::fixture("zip64.pth")));
}

TEST(PthCheckpoint, ReadsDeflatedEntries) {
  expect_tensors_fixture(*open_checkpoint(test::fixture("deflated.pth")));
}

TEST(PthCheckpoint, StoredStoragesAreViewedInPlace) {
  // A stored entry is read from the map: the storage is the fp32 bytes 0..11 at a 64-byte
  // aligned file offset (torch pads local headers), so the pointer is 64-byte aligned too.
  auto c = open_checkpoint(test::fixture("tensors.pth"));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c->find("w")->storage) % 64, 0u);
  EXPECT_EQ(c->find("w")->storage_bytes, 48u);
}

TEST(PthCheckpoint, FindsStateDictUnderModel) {
  // {"model": Linear(3, 2).state_dict() with weight arange(6), "epoch": 3, "args": {...}},
  // saved with pickle protocol 4.
  auto c = open_checkpoint(test::fixture("nested_model.pth"));
  ASSERT_EQ(c->tensors().size(), 1u);
  EXPECT_EQ(c->tensors()[0].name, "weight");
  EXPECT_EQ(c->tensors()[0].shape_string(), "[2, 3]");
  EXPECT_EQ(values(*c, "weight"), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(has_note(*c, "under 'model'"));
}

TEST(PthCheckpoint, FindsStateDictUnderStateDict) {
  auto c = open_checkpoint(test::fixture("nested_state_dict.pth"));
  ASSERT_EQ(c->tensors().size(), 1u);
  EXPECT_EQ(values(*c, "x"), (std::vector<float>{1, 2}));
  EXPECT_TRUE(has_note(*c, "under 'state_dict'"));
}

TEST(PthCheckpoint, RefusesDisallowedGlobal) {
  const std::string message = open_error("evil_global.pth");
  EXPECT_CONTAINS(message, "evil_global.pth");
  EXPECT_CONTAINS(message, "evil/data.pkl");
  EXPECT_CONTAINS(message, "global 'posix.system' is not allowed");
}

TEST(PthCheckpoint, RejectsTruncatedZip) {
  EXPECT_CONTAINS(open_error("truncated.pth"), "no end-of-central-directory record");
}

TEST(PthCheckpoint, RejectsBadCentralDirectoryOffset) {
  const std::string message = open_error("bad_cd_offset.pth");
  EXPECT_CONTAINS(message, "bad_cd_offset.pth: malformed zip archive");
  EXPECT_CONTAINS(message, "does not end where the end records start");
  EXPECT_CONTAINS(open_error("mismatched_end_records.pth"),
                  "disagree on the central directory offset");
}

TEST(PthCheckpoint, RejectsStorageShorterThanDeclared) {
  // Storage 0 (of w, t, o and s) cut from 48 to 40 bytes.
  const std::string message = open_error("short_storage.pth");
  EXPECT_CONTAINS(message, "tensor 'w'");
  EXPECT_CONTAINS(message, "has 40 bytes");
}

TEST(PthCheckpoint, RejectsViewOutsideItsStorage) {
  // 'w' claims size (5, 4) over a storage of 12 floats.
  const std::string message = open_error("bad_view.pth");
  EXPECT_CONTAINS(message, "tensor 'w'");
  EXPECT_CONTAINS(message, "size [5, 4]");
  EXPECT_CONTAINS(message, "needs 20 elements");
}

TEST(PthCheckpoint, RejectsBigEndianByteorder) {
  EXPECT_CONTAINS(open_error("big_endian.pth"), "expected 'little'");
}

TEST(PthCheckpoint, RejectsTruncatedLegacyStorage) {
  EXPECT_CONTAINS(open_error("legacy_truncated.pth"), "truncated");
}

TEST(Checkpoint, RejectsUnknownFormatAndMissingFile) {
  const std::string path = test::write_scratch("notes.txt", "hello, world");
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(path); }), "not a recognised checkpoint");
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(path + ".missing"); }), "cannot open");
  const std::string empty = test::write_scratch("empty.pth", "");
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(empty); }), "empty");
}

TEST(Checkpoint, RejectsPickleThatIsNotTorchSave) {
  // pickle.dumps({'a': 1}, protocol=2): a pickle, but without torch.save's magic number.
  const std::string path =
      test::write_scratch("plain.pth", test::bytes_of("\x80\x02}q\x00X\x01\x00\x00\x00"
                                                      "aq\x01K\x01s."));
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(path); }), "magic number");
}

}  // namespace
}  // namespace pte
