#pragma once
// The validated, in-memory form of a piece graph (piece_graph.proto): typed values and nodes
// whose operator and attributes have been resolved.
#include <optional>
#include <string>
#include <vector>

#include "runtime-load/tensor.h"

namespace pte::runtime {

enum class Op { Embedding, RmsNorm, Linear, Concat, Rope, ToHeads, Attention, Add, Mul, Silu, SelectRow, HeadRmsNorm };

struct OpAttributes {
  double eps = 0;          // rms_norm, head_rms_norm
  int64_t axis = 0;        // concat, normalized to [0, rank)
  int64_t n_heads = 0;     // rope, to_heads, attention, head_rms_norm
  int64_t n_kv_heads = 0;  // attention
  int64_t head_dim = 0;    // rope, to_heads, attention, head_rms_norm
  double alpha = 1.0;      // add: out = a + alpha * b (optional, default 1)
};

struct GraphValue {
  std::string name;
  DType dtype = DType::Invalid;
  Shape shape;
  std::optional<Tensor> constant;  // a view of the blob for weights
  std::string blob;                // the constant's blob key
  std::string scales_blob;         // quantized constants: the blob of the scales

  // Whether kernels can read the value as float32: a float dtype or a quantized constant.
  bool is_float_like() const { return is_float(dtype) || (constant && constant->is_quantized()); }
};

struct GraphNode {
  Op op;
  std::vector<int> inputs;  // value indices
  int output = -1;          // value index
  OpAttributes attributes;
};

}  // namespace pte::runtime
