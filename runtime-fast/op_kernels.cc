// The operator table: one kernel per operator of FORMAT.md §5.
#include "runtime-fast/op_kernels.h"

#include <array>
#include <utility>

namespace pte::fast {

using runtime::Op;

namespace {

constexpr std::pair<Op, OpKernel> kTable[] = {
    {Op::Embedding, embedding_kernel}, {Op::RmsNorm, rms_norm_kernel},   {Op::Linear, linear_kernel},
    {Op::Concat, concat_kernel},       {Op::Rope, rope_kernel},          {Op::ToHeads, to_heads_kernel},
    {Op::Attention, attention_kernel}, {Op::Add, add_kernel},            {Op::Mul, mul_kernel},
    {Op::Silu, silu_kernel},           {Op::SelectRow, select_row_kernel}, {Op::HeadRmsNorm, head_rms_norm_kernel},
};

}  // namespace

OpKernel kernel_for(Op op) {
  for (const auto& [o, kernel] : kTable)
    if (o == op) return kernel;
  return nullptr;  // unreachable: PieceGraph accepts only the operators above
}

bool reads_raw_constant(Op op, size_t index) {
  return (op == Op::Linear && index == 1) || (op == Op::Embedding && index == 0);
}

}  // namespace pte::fast
