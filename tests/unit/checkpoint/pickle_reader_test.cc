#include "exporter/checkpoint/pickle_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "test_files.h"

namespace pte {
namespace {

using Kind = PickleValue::Kind;

PickleDocument parse(const std::string& bytes, PersistentIds ids = PersistentIds::ZipStorages) {
  return read_pickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.pkl", ids);
}

std::string error_for(const std::string& bytes) {
  return test::error_of([&] { parse(bytes); });
}

// Literals keep their embedded NULs.
template <size_t N>
PickleDocument parse(const char (&literal)[N]) {
  return parse(test::bytes_of(literal));
}
template <size_t N>
std::string error_for(const char (&literal)[N]) {
  return error_for(test::bytes_of(literal));
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

// Bytes as pickle.dumps(obj, protocol=2) writes them (checked with pickletools).
TEST(PickleReader, ReadsPlainValues) {
  // {'i': -5, 'big': 2**70, 'f': 0.5, 's': 'hé', 'l': [True, None], 't': (1, 300)}
  const std::string bytes = test::bytes_of(
      "\x80\x02}q\x00(X\x01\x00\x00\x00iq\x01J\xfb\xff\xff\xffX\x03\x00\x00\x00"
      "bigq\x02"
      "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00@X\x01\x00\x00\x00"
      "fq\x03G?\xe0\x00\x00\x00\x00\x00\x00"
      "X\x01\x00\x00\x00sq\x04X\x03\x00\x00\x00h\xc3\xa9q\x05X\x01\x00\x00\x00lq\x06]q\x07(\x88Ne"
      "X\x01\x00\x00\x00tq\x08K\x01M,\x01\x86q\tu.");
  const PickleDocument doc = parse(bytes);
  const PickleValue& d = *doc.root();
  ASSERT_EQ(d.kind, Kind::Dict);
  EXPECT_EQ(doc.size(), bytes.size());
  EXPECT_EQ(d.get("i")->integer, -5);
  EXPECT_EQ(d.get("big")->kind, Kind::BigInt);
  EXPECT_EQ(d.get("big")->text, test::bytes_of("\0\0\0\0\0\0\0\0\x40"));
  EXPECT_EQ(d.get("f")->real, 0.5);
  EXPECT_EQ(d.get("s")->text, "h\xc3\xa9");
  ASSERT_EQ(d.get("l")->items.size(), 2u);
  EXPECT_EQ(d.get("l")->items[0]->kind, Kind::Bool);
  EXPECT_TRUE(d.get("l")->items[0]->boolean);
  EXPECT_EQ(d.get("l")->items[1]->kind, Kind::None);
  ASSERT_EQ(d.get("t")->kind, Kind::Tuple);
  EXPECT_EQ(d.get("t")->items[1]->integer, 300);
}

TEST(PickleReader, Long1FitsInt64AndNegative) {
  // LONG1 of -2 (one byte 0xfe) and of 2**40.
  const PickleDocument a = parse(test::bytes_of("\x80\x02\x8a\x01\xfe."));
  EXPECT_EQ(a.root()->kind, Kind::Int);
  EXPECT_EQ(a.root()->integer, -2);
  const PickleDocument b = parse(test::bytes_of("\x80\x02\x8a\x06\x00\x00\x00\x00\x00\x01."));
  EXPECT_EQ(b.root()->integer, int64_t{1} << 40);
}

TEST(PickleReader, Protocol4FramesAndStackGlobal) {
  // pickle.dumps(collections.OrderedDict(a=1), protocol=4)
  const std::string bytes = test::bytes_of(
      "\x80\x04\x95\x29\x00\x00\x00\x00\x00\x00\x00\x8c\x0b"
      "collections\x94\x8c\x0bOrderedDict"
      "\x94\x93\x94)R\x94\x8c\x01"
      "a\x94K\x01s.");
  const PickleDocument doc = parse(bytes);
  ASSERT_EQ(doc.root()->kind, Kind::Dict);
  EXPECT_EQ(doc.root()->get("a")->integer, 1);
}

TEST(PickleReader, StopsAtStopAndReportsSize) {
  const PickleDocument doc = parse(test::bytes_of("\x80\x02K\x07.trailing"));
  EXPECT_EQ(doc.root()->integer, 7);
  EXPECT_EQ(doc.size(), 5u);
}

TEST(PickleReader, RefusesOsSystemGlobal) {
  const std::string message = error_for(
      "\x80\x02"
      "cposix\nsystem\nX\x02\x00\x00\x00ls\x85R.");
  EXPECT_CONTAINS(message, "test.pkl");
  EXPECT_CONTAINS(message, "global 'posix.system' is not allowed");
}

TEST(PickleReader, RefusesBuiltinsEvalThroughStackGlobal) {
  const std::string message = error_for(
      "\x80\x04\x8c\x08"
      "builtins\x8c\x04"
      "eval\x93X\x01\x00\x00\x00"
      "1\x85R.");
  EXPECT_CONTAINS(message, "global 'builtins.eval' is not allowed");
}

TEST(PickleReader, RefusesCallingAStorageClass) {
  const std::string message = error_for(
      "\x80\x02"
      "ctorch\nFloatStorage\n)R.");
  EXPECT_CONTAINS(message, "'torch.FloatStorage' cannot be called");
}

TEST(PickleReader, RefusesInstAndExtOpcodes) {
  EXPECT_CONTAINS(error_for("\x80\x02(iposix\nsystem\n."), "INST");
  EXPECT_CONTAINS(error_for("\x80\x02\x82\x01."), "EXT1");
}

TEST(PickleReader, RejectsUnknownOpcode) {
  const std::string message = error_for("\x80\x02\xff.");
  EXPECT_CONTAINS(message, "unknown opcode 0xff");
  EXPECT_CONTAINS(message, "at byte 2");
}

TEST(PickleReader, RejectsTruncatedPickles) {
  EXPECT_CONTAINS(error_for("\x80\x02}q\x00(X\x10\x00\x00\x00"
                            "ab"),
                  "runs past the end");
  EXPECT_CONTAINS(error_for(test::bytes_of("\x80\x02J\x01\x00")), "truncated");
  EXPECT_CONTAINS(error_for("\x80\x02]"), "without a STOP");
  // BINUNICODE8 claiming 2^63 bytes.
  EXPECT_CONTAINS(error_for(test::bytes_of("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80.")),
                  "runs past the end");
}

TEST(PickleReader, RejectsStackAndMemoMisuse) {
  EXPECT_CONTAINS(error_for("\x80\x02"
                            "a."),
                  "underflow");
  EXPECT_CONTAINS(error_for("\x80\x02h\x05."), "memo entry 5");
  EXPECT_CONTAINS(error_for("\x80\x02K\x01K\x02."), "2 values on the stack");
  EXPECT_CONTAINS(error_for("\x80\x02]K\x01K\x02s."), "SETITEM on list, expected a dict");
}

TEST(PickleReader, RejectsDeepMarkNesting) {
  const std::string bytes = "\x80\x02" + std::string(100000, '(') + ".";
  EXPECT_CONTAINS(error_for(bytes), "nesting deeper than");
}

TEST(PickleReader, DeepListChainNeitherCrashesNorRecurses) {
  // 200000 nested lists: [[[...]]], built with EMPTY_LIST and APPEND.
  const size_t depth = 200000;
  const std::string bytes =
      "\x80\x02" + std::string(depth, ']') + std::string(depth - 1, 'a') + ".";
  const PickleDocument doc = parse(bytes);
  EXPECT_EQ(doc.root()->kind, Kind::List);
  ASSERT_EQ(doc.root()->items.size(), 1u);
}

TEST(PickleReader, SelfReferencingListIsFreedWithoutCrash) {
  // l = []; l.append(l)
  const PickleDocument doc = parse(
      "\x80\x02]q\x00h\x00"
      "a.");
  EXPECT_EQ(doc.root()->items[0], doc.root());
}

TEST(PickleReader, BuildsTensorFromPersistentStorage) {
  // _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 6), 1, (2, 2), (3, 1), False,
  // OrderedDict())
  const std::string bytes = test::bytes_of(
      "\x80\x02"
      "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
      "ctorch\nFloatStorage\nX\x01\x00\x00\x00"
      "0X\x03\x00\x00\x00"
      "cpuK\x06tQ"
      "K\x01K\x02K\x02\x86K\x03K\x01\x86\x89"
      "ccollections\nOrderedDict\n)RtR.");
  const PickleDocument doc = parse(bytes);
  ASSERT_EQ(doc.root()->kind, Kind::Tensor);
  const TensorRecord& t = *doc.root()->tensor;
  EXPECT_EQ(t.storage_offset, 1);
  EXPECT_EQ(t.size, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t.stride, (std::vector<int64_t>{3, 1}));
  const StorageRef& s = *t.storage->storage;
  EXPECT_EQ(s.key, "0");
  EXPECT_EQ(s.numel, 6);
  EXPECT_EQ(s.type->dtype, DType::F32);
  ASSERT_EQ(doc.storages().size(), 1u);
  // The same bytes where no persistent ids are expected.
  EXPECT_CONTAINS(test::error_of([&] { parse(bytes, PersistentIds::None); }), "persistent id");
}

TEST(PickleReader, RejectsMalformedPersistentId) {
  EXPECT_CONTAINS(error_for("\x80\x02X\x01\x00\x00\x00xQ."), "persistent id is str 'x'");
}

}  // namespace
}  // namespace pte
