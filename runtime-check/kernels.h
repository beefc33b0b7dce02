#pragma once
// The operators of FORMAT.md §5 on the CPU. Each kernel reads its inputs as float32 (constants
// in place from the mapped file), computes in float32 and rounds every element of `out` once to
// out.dtype. `out` arrives with its dtype and shape set and its float storage allocated; shapes
// have been checked by PieceGraph (op_signatures.cc), so kernels only derive sizes from them.
#include <cstdint>
#include <span>

#include "runtime-load/tensor.h"

namespace pte::runtime {

// Throws pte::Error when a token is outside [0, V).
void embedding(const Tensor& table, const Tensor& tokens, Tensor& out);
void rms_norm(const Tensor& x, const Tensor& weight, double eps, Tensor& out);
// rms_norm of each head_dim-wide slice of x [1, T, n_heads*head_dim], weight [head_dim].
void head_rms_norm(const Tensor& x, const Tensor& weight, int64_t n_heads, int64_t head_dim, double eps, Tensor& out);
// out = x·weightᵀ (+ bias, added in float32 before the one rounding) ; bias may be null.
void linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out);
void rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t n_heads, int64_t head_dim,
          Tensor& out);
void to_heads(const Tensor& x, int64_t n_heads, int64_t head_dim, Tensor& out);

struct AttentionInputs {
  const Tensor& q;        // [1, T, Hq*D]
  const Tensor& k;        // [1, Hkv, T, D]
  const Tensor& v;        // [1, Hkv, T, D]
  const Tensor& k_cache;  // [1, Hkv, C, D]
  const Tensor& v_cache;  // [1, Hkv, C, D]
  const Tensor& mask;     // [1, T, C+T]
};
void attention(const AttentionInputs& in, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
               Tensor& out);

// out = a + alpha * b in float32 (alpha rounded to float32 first), rounded once to out.dtype.
void add(const Tensor& a, const Tensor& b, Tensor& out, double alpha = 1.0);
void mul(const Tensor& a, const Tensor& b, Tensor& out);
void silu(const Tensor& x, Tensor& out);
void concat(std::span<const Tensor* const> inputs, int64_t axis, Tensor& out);
// out[0, 0, :] = x[0, pos[0], :] for x [1, T, D]; throws pte::Error when pos is outside [0, T).
void select_row(const Tensor& x, const Tensor& pos, Tensor& out);

}  // namespace pte::runtime
