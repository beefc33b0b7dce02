// Sharded safetensors (model.safetensors.index.json) and checkpoint folders. Shards are tiny
// hand-written safetensors files (u64 LE header length, JSON header, data).
#include <gtest/gtest.h>

#include <filesystem>

#include "exporter/checkpoint/checkpoint.h"
#include "exporter/checkpoint/checkpoint_folder.h"
#include "test_files.h"

namespace pte {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

// One F32 [2] tensor per name, each 8 bytes of data.
std::string shard_bytes(const std::vector<std::string>& names) {
  std::string header = "{";
  for (size_t i = 0; i < names.size(); ++i)
    header.append(i ? "," : "")
        .append("\"" + names[i] + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[")
        .append(std::to_string(8 * i))
        .append(",")
        .append(std::to_string(8 * i + 8))
        .append("]}");
  header += "}";
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(header.size() >> (8 * i));
  return out + header + std::string(8 * names.size(), '\x01');
}

// A folder `name` with shards a.safetensors {x, y} and b.safetensors {z}, and an index.
std::string sharded_folder(const std::string& name, const std::string& weight_map) {
  const std::string dir = std::filesystem::path(test::write_scratch(name + ".tmp", "")).parent_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  test::write_scratch(name + "/a.safetensors", shard_bytes({"x", "y"}));
  test::write_scratch(name + "/b.safetensors", shard_bytes({"z"}));
  test::write_scratch(name + "/model.safetensors.index.json",
                      "{\"metadata\": {\"total_size\": 24}, \"weight_map\": {" + weight_map + "}}");
  test::write_scratch(name + "/config.json", "{}");
  test::write_scratch(name + "/tokenizer.json", "{}");
  return dir;
}

const char* kGoodMap = R"("x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors")";

TEST(ShardedCheckpoint, OpensEveryShardBehindOneCheckpoint) {
  const std::string dir = sharded_folder("good", kGoodMap);
  auto c = open_checkpoint(dir);
  ASSERT_EQ(c->tensors().size(), 3u);
  for (const char* n : {"x", "y", "z"}) ASSERT_NE(c->find(n), nullptr) << n;
  EXPECT_EQ(c->find("z")->shape, std::vector<int64_t>{2});
  float v[2];
  c->find("z")->read_f32(v);
  c->release(*c->find("z"));
  bool listed_tokenizer = false;
  for (const std::string& n : c->notes()) listed_tokenizer |= n.find("tokenizer.json") != std::string::npos;
  EXPECT_TRUE(listed_tokenizer) << "the folder's other files are listed as not read";
  EXPECT_EQ(inspect_checkpoint_folder(dir).config, dir + "/config.json");
  // The index itself works as -c.
  EXPECT_EQ(open_checkpoint(dir + "/model.safetensors.index.json")->tensors().size(), 3u);
}

TEST(ShardedCheckpoint, CrossChecksTheIndexBothWays) {
  std::string e = test::error_of([&] {
    open_checkpoint(sharded_folder("missing", R"("x": "a.safetensors", "y": "a.safetensors", "z": "c.safetensors")"));
  });
  EXPECT_CONTAINS(e, "model.safetensors.index.json: shard 'c.safetensors' (listed for tensor 'z') does not exist");
  e = test::error_of([&] { open_checkpoint(sharded_folder("absent", std::string(kGoodMap) + R"(, "w": "b.safetensors")")); });
  EXPECT_CONTAINS(e, "tensor 'w' is listed in shard 'b.safetensors', which does not contain it");
  e = test::error_of([&] { open_checkpoint(sharded_folder("unlisted", R"("x": "a.safetensors", "z": "b.safetensors")")); });
  EXPECT_CONTAINS(e, "shard 'a.safetensors' holds tensor 'y', which the index does not list");
  e = test::error_of([&] {
    const std::string dir = sharded_folder("twice", kGoodMap);
    test::write_scratch("twice/b.safetensors", shard_bytes({"z", "x"}));
    open_checkpoint(dir);
  });
  EXPECT_CONTAINS(e, "tensor 'x' is present in two shards, 'a.safetensors' and 'b.safetensors'");
  e = test::error_of([&] { open_checkpoint(sharded_folder("moved", R"("x": "b.safetensors", "y": "a.safetensors", "z": "b.safetensors")")); });
  EXPECT_CONTAINS(e, "tensor 'x' is listed in shard 'b.safetensors' but found in shard 'a.safetensors'");
}

TEST(ShardedCheckpoint, RejectsMalformedIndexes) {
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(sharded_folder("path", R"("x": "../a.safetensors")")); }),
                  "expected a file name in the index's folder");
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(sharded_folder("number", R"("x": 3)")); }),
                  "tensor 'x' maps to 3");
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(sharded_folder("empty", "")); }), "'weight_map' is empty");
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(sharded_folder("dup", R"("x": "a.safetensors", "x": "a.safetensors")")); }),
                  "appears twice");
}

TEST(CheckpointFolder, NamesWhatIsMissingOrAmbiguous) {
  const std::string empty = std::filesystem::path(test::write_scratch("emptydir.tmp", "")).parent_path() / "emptydir";
  std::filesystem::create_directories(empty);
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(empty); }),
                  "no checkpoint found: expected model.safetensors, model.safetensors.index.json or consolidated.00.pth");
  const std::string both = sharded_folder("both", kGoodMap);
  test::write_scratch("both/model.safetensors", shard_bytes({"x"}));
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(both); }), "holds both model.safetensors and");
  const std::string tp = std::filesystem::path(test::write_scratch("tp.tmp", "")).parent_path() / "tp";
  std::filesystem::create_directories(tp);
  test::write_scratch("tp/consolidated.00.pth", "PK");
  test::write_scratch("tp/consolidated.01.pth", "PK");
  EXPECT_CONTAINS(test::error_of([&] { open_checkpoint(tp); }), "tensor-parallel");
}

}  // namespace
}  // namespace pte
