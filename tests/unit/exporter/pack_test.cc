#include "exporter/packer/pack.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "common/sha256.h"
#include "exporter/program/llama_builder.h"
#include "passes/pipeline.h"
#include "schema/file_header.h"
#include "schema/pte_generated.h"
#include "tiny_llama.h"

namespace pte {
namespace {

ExportOptions options() { return testing::tiny_options(DType::F16); }

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string export_tiny(const testing::TinyLlamaFiles& f, const std::string& out, int threads) {
  ExportOptions o = options();
  auto ckpt = open_checkpoint(f.checkpoint);
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o);
  run_pipeline(p, o);
  pack_program(p, *ckpt, out, threads, "pte test");
  return out;
}

TEST(Pack, SameInputsGiveIdenticalBytesForAnyThreadCount) {
  auto f = testing::write_tiny_llama("determinism");
  auto a = read_file(export_tiny(f, f.dir + "/a.pte", 1));
  auto b = read_file(export_tiny(f, f.dir + "/b.pte", 3));
  auto c = read_file(export_tiny(f, f.dir + "/c.pte", 1));
  ASSERT_GT(a.size(), 4096u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
}

TEST(Pack, LayoutFollowsTheFormatDocument) {
  auto f = testing::write_tiny_llama("layout");
  auto bytes = read_file(export_tiny(f, f.dir + "/m.pte", 2));
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  EXPECT_EQ(check_header(h, bytes.size()), "");
  EXPECT_EQ(h.header_size, 96u);
  EXPECT_EQ(h.format_version, 2u);
  EXPECT_EQ(h.flatbuffer_offset, 96u);
  EXPECT_EQ(h.segment_offset % 4096, 0u);
  EXPECT_EQ(h.segment_offset + h.segment_size, bytes.size());
  // container_sha256 = SHA-256(header bytes [0, 64) ++ bytes [96, segment_offset)).
  std::vector<uint8_t> digested(bytes.begin(), bytes.begin() + 64);
  digested.insert(digested.end(), bytes.begin() + 96, bytes.begin() + static_cast<ptrdiff_t>(h.segment_offset));
  const Sha256Digest container = sha256(digested.data(), digested.size());
  EXPECT_TRUE(std::equal(container.begin(), container.end(), bytes.begin() + 64));
  flatbuffers::Verifier v(bytes.data() + h.flatbuffer_offset, h.flatbuffer_size);
  ASSERT_TRUE(fb::VerifyProgramBuffer(v));
  const fb::Program* prog = fb::GetProgram(bytes.data() + h.flatbuffer_offset);
  ASSERT_EQ(prog->methods()->size(), 1u);
  EXPECT_EQ(prog->methods()->Get(0)->pieces()->size(), 3u);
  for (const fb::Blob* b : *prog->blobs()) {
    EXPECT_EQ(b->offset() % 128, 0u) << b->key()->str();
    ASSERT_LE(b->offset() + b->size(), h.segment_size);
    Sha256Digest d = sha256(bytes.data() + h.segment_offset + b->offset(), b->size());
    EXPECT_TRUE(std::equal(d.begin(), d.end(), b->sha256()->begin())) << b->key()->str();
  }
  const fb::Blob* wq = prog->blobs()->LookupByKey("layers.0.attention.wq.weight:fp16");
  ASSERT_NE(wq, nullptr);
  EXPECT_EQ(wq->size(), 8u * 8u * 2u);
}

TEST(Pack, IdenticalWeightsAreStoredOnce) {
  // Both layers get the same attention_norm values: two keys, one copy.
  auto tensors = testing::tiny_llama_tensors(true);
  auto f = testing::write_tiny_llama("dedup", true, {{"layers.1.attention_norm.weight", tensors["layers.0.attention_norm.weight"]}});
  auto bytes = read_file(export_tiny(f, f.dir + "/m.pte", 2));
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  const fb::Program* prog = fb::GetProgram(bytes.data() + h.flatbuffer_offset);
  const fb::Blob* a = prog->blobs()->LookupByKey("layers.0.attention_norm.weight:fp16");
  const fb::Blob* b = prog->blobs()->LookupByKey("layers.1.attention_norm.weight:fp16");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->offset(), b->offset());
  const fb::Blob* c = prog->blobs()->LookupByKey("layers.0.ffn_norm.weight:fp16");
  ASSERT_TRUE(c);
  EXPECT_NE(a->offset(), c->offset());
}

TEST(Pack, FailedExportLeavesNoFile) {
  auto f = testing::write_tiny_llama("failure");
  ExportOptions o = options();
  auto ckpt = open_checkpoint(f.checkpoint);
  Program p = build_llama_program(describe_meta_model(read_model_params(f.params)), *ckpt, o);
  run_pipeline(p, o);
  p.weights.at("norm.weight:fp16").source = "no.such.tensor";  // fails while packing
  std::string out = f.dir + "/out/m.pte";
  std::filesystem::create_directories(f.dir + "/out");
  EXPECT_THROW(pack_program(p, *ckpt, out, 2, "pte test"), Error);
  EXPECT_TRUE(std::filesystem::is_empty(f.dir + "/out"));
}

}  // namespace
}  // namespace pte
