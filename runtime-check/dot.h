#pragma once
// Float32 dot product in one fixed order: 32 partial sums (element i goes to sum i % 32 for the
// whole 32-element blocks), added pairwise, then the tail in order. Many independent sums let
// the compiler vectorize it without reassociating (the build forbids fast-math and contraction)
// and keep the adds from waiting on each other.
#include <cstddef>

namespace pte::runtime {

float dot(const float* a, const float* b, size_t n);

}  // namespace pte::runtime
