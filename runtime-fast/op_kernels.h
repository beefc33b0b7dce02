#pragma once
// The operators of FORMAT.md §5 for the fast executor. Adding an operator is one kernel here
// and one entry in the table of op_kernels.cc.
#include "runtime-fast/prepared_method.h"

namespace pte::fast {

// The kernel of `op`.
OpKernel kernel_for(runtime::Op op);
// Whether input `index` of `op` is read from its constant's raw bytes (weights and tables used
// in place) rather than as float32 values.
bool reads_raw_constant(runtime::Op op, size_t index);

void linear_kernel(const Step& s, RunContext& c);
void attention_kernel(const Step& s, RunContext& c);
void embedding_kernel(const Step& s, RunContext& c);
void rms_norm_kernel(const Step& s, RunContext& c);
void head_rms_norm_kernel(const Step& s, RunContext& c);
void rope_kernel(const Step& s, RunContext& c);
void to_heads_kernel(const Step& s, RunContext& c);
void add_kernel(const Step& s, RunContext& c);
void mul_kernel(const Step& s, RunContext& c);
void silu_kernel(const Step& s, RunContext& c);
void concat_kernel(const Step& s, RunContext& c);
void select_row_kernel(const Step& s, RunContext& c);

// Minimum multiply-adds for a kernel to use the thread pool.
constexpr size_t kParallelWork = size_t{1} << 18;
// Weight rows a linear decodes at once when a call has several token rows, and the padding of
// their rows and of x's (in floats): the scratch per thread holds kLinearPanelRows rows of the
// widest input plus the padding, split_x every x row plus the padding.
constexpr size_t kLinearPanelRows = 12, kLinearRowPad = 16;

}  // namespace pte::fast
