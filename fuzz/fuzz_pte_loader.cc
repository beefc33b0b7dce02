// The .pte loader: header, container digest, flatbuffers verifier, blob table, metadata; then
// every piece graph is validated (as inspect does) and each runnable method runs a few tokens on
// both executors.
// Blob hashes are skipped so that the fuzzer reaches the structures behind them.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "fuzz/fuzz_input.h"
#include "runner/runner.h"
#include "runtime-load/loaded_program.h"
#include "runtime-load/piece_graph.h"
#include "schema/file_header.h"

namespace {

// Methods whose inputs are larger than this are validated but not run (keeps each input fast).
constexpr int64_t kMaxRunElements = int64_t{1} << 18;

bool small_enough_to_run(const pte::fb::Method& m) {
  int64_t total = 0;
  for (const pte::fb::IOSpec* s : *m.inputs()) total += pte::runtime::numel(pte::runtime::to_shape(s->shape()));
  for (const pte::fb::IOSpec* s : *m.outputs()) total += pte::runtime::numel(pte::runtime::to_shape(s->shape()));
  return total <= kMaxRunElements;
}

// Mutations almost always break the container digest; the input gets a correct one (when its
// header lets it be computed) so that the fuzzer reaches the flatbuffer and graph checks.
std::vector<uint8_t> with_container_digest(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (size < pte::kHeaderSize) return bytes;
  pte::FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  if (h.segment_offset < pte::kHeaderSize || h.segment_offset > size) return bytes;
  const pte::Sha256Digest d =
      pte::container_digest(h, bytes.data() + pte::kHeaderSize, h.segment_offset - pte::kHeaderSize);
  std::memcpy(bytes.data() + offsetof(pte::FileHeader, container_sha256), d.data(), d.size());
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pte::runtime;
  const std::vector<uint8_t> bytes = with_container_digest(data, size);
  pte::fuzz::MemoryFile file(bytes.data(), bytes.size());
  try {
    LoadedProgram program(file.path(), {.check_hashes = false});
    bool all_small = true;
    for (const pte::fb::Method* m : *program.program().methods()) {
      all_small = all_small && small_enough_to_run(*m);
      for (flatbuffers::uoffset_t i = 0; i < m->pieces()->size(); ++i)
        PieceGraph(program, view(m->pieces()->Get(i)->payload()), "piece");
    }
    if (!all_small) return 0;
    for (const RunnableMethod& r : runnable_methods(program))
      for (ExecutorKind kind : {ExecutorKind::Fast, ExecutorKind::Reference}) {
        ExecutorOptions executor;
        executor.kind = kind;
        executor.threads = 1;
        Runner runner(program, r.name, executor);
        GenerateOptions options;
        options.max_new_tokens = 2;
        const std::vector<int32_t> prompt = {0};
        runner.generate(prompt, options);
      }
  } catch (const pte::Error&) {
  }
  return 0;
}
