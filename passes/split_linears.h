#pragma once
// Linear splitting (SPEC §5): every linear with n outputs becomes `num` linears over row chunks
// of its weight, their outputs concatenated, where num = min(max(n / target_split_size, 1),
// max_splits) and a remainder n % num is an error (the reference's behaviour).
// Invariant after the pass: no linear has more than ceil(n / num) rows; each method computes
// exactly what it computed before (concatenating row chunks of x·Wᵀ is x·Wᵀ).
#include "passes/pass.h"

namespace pte {

// Number of chunks for a linear with `rows` outputs under the options.
int64_t split_count(int64_t rows, const ExportOptions& options);

extern const Pass kSplitLinearsPass;

}  // namespace pte
