#pragma once
// Bounds of the format (FORMAT.md §1): every reader enforces them and the exporter checks that
// the programs it writes respect them, so a file pte writes is a file pte can run.
#include <cstdint>

namespace pte {

// Any tensor a runtime allocates: method inputs and outputs, activations (2^28 fp32 = 1 GiB).
constexpr int64_t kMaxActivationElements = int64_t{1} << 28;
// A constant: a view of its blob, never allocated (Llama 3 70B's embedding has 2^30).
constexpr int64_t kMaxConstantElements = int64_t{1} << 31;

}  // namespace pte
