#pragma once
// The fast executor: a method prepared once into a flat list of kernel calls over
// pre-resolved value slots. Activations live in one arena whose offsets are planned from value
// lifetimes at load time; constants are used in place from the mapped file (small float
// constants read by element-wise operators are decoded once at load); inputs are read where the
// caller holds them (caches included). A call allocates nothing and looks nothing up by name.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime-fast/simd_kernels.h"
#include "common/thread_pool.h"
#include "runtime-load/method_graph.h"

namespace pte::fast {

using pte::DType;
using runtime::Shape;

// Where a value lives during a call.
struct Slot {
  enum class Kind { Input, Arena, Constant };
  Kind kind = Kind::Arena;
  DType dtype = DType::Invalid;
  Shape shape;
  size_t input = 0;                            // Input: the method input index
  size_t offset = 0;                           // Arena: offset in floats
  const runtime::Tensor* constant = nullptr;   // Constant: the mapped bytes (codes and scales)
  const float* floats = nullptr;               // Constant: float32 values (in place or decoded)
  const int64_t* ints = nullptr;               // integer constants, decoded at load
};

struct RunContext;
struct Step;
using OpKernel = void (*)(const Step&, RunContext&);

struct Step {
  OpKernel kernel = nullptr;
  const runtime::GraphNode* node = nullptr;
  std::vector<int> in;  // slot ids
  int out = -1;
  size_t piece = 0, node_index = 0;
};

// What a kernel sees during one call.
struct RunContext {
  const std::vector<Slot>& slots;
  std::vector<const float*>& floats;   // per slot: float32 values (inputs, arena, constants)
  std::vector<const int64_t*>& ints;   // per slot: integer values (inputs, constants)
  float* arena;
  int64_t tokens;  // T of the method
  int64_t rows;    // real token rows of this call (1..T)
  ThreadPool& pool;
  const SimdKernels& simd;
  std::vector<std::vector<float>>& scratch;  // one buffer per pool thread, sized at load
  std::vector<uint32_t>& visible;            // attention: visible key lists, sized at load
  std::vector<float>& split_x;               // linear: x in the split layout, sized at load

  const Slot& slot(int id) const { return slots[static_cast<size_t>(id)]; }
  const float* in(const Step& s, size_t i) const { return floats[static_cast<size_t>(s.in[i])]; }
  float* out(const Step& s) const { return arena + slots[static_cast<size_t>(s.out)].offset; }
  // Rows (leading elements over the last axis) of `v` this call computes: the real rows of a
  // [1, T, X] value, every row otherwise.
  int64_t active_rows(const Slot& v) const;
  // Elements of `v` this call computes: the real rows of a [1, T, X] value, else all of it.
  size_t active_elements(const Slot& v) const;
  // Rounds values to `dtype` (fp16/bf16 emulation; fp32 unchanged).
  void round(DType dtype, float* values, size_t count) const;
};

class PreparedMethod {
 public:
  // `graph` and `pool` must outlive the prepared method.
  PreparedMethod(const runtime::MethodGraph& graph, ThreadPool& pool, CpuVariant variant);

  const runtime::MethodGraph& graph() const { return graph_; }
  CpuVariant variant() const { return variant_; }
  size_t arena_floats() const { return arena_.size(); }
  size_t steps() const { return steps_.size(); }

  // Runs one call on `inputs` (IOSpec order; checked like the oracle's). Only the first `rows`
  // token rows (1..T) need be right: rows past them are padding that the runner's causal mask
  // keeps from the real rows, so their work is skipped and their outputs are unspecified.
  // Returns the outputs as float32 views, valid until the next call.
  std::span<const std::span<const float>> run(std::span<const runtime::Tensor* const> inputs, int64_t rows);

 private:
  int add_constant_slot(const runtime::GraphValue& v);
  void plan_arena(const std::vector<std::pair<int, int>>& lifetimes);

  const runtime::MethodGraph& graph_;
  ThreadPool& pool_;
  CpuVariant variant_;
  const SimdKernels& simd_;
  int64_t tokens_ = 1;
  std::vector<Slot> slots_;
  std::vector<Step> steps_;
  std::vector<int> output_slots_;
  std::vector<float> arena_;
  std::vector<std::vector<float>> decoded_;      // float constants decoded at load
  std::vector<std::vector<int64_t>> decoded_ints_;
  std::vector<const float*> floats_;
  std::vector<const int64_t*> ints_;
  std::vector<std::vector<float>> scratch_;
  std::vector<uint32_t> visible_;
  std::vector<float> split_x_;
  std::vector<std::span<const float>> output_views_;
};

}  // namespace pte::fast
