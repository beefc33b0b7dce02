#pragma once
// Marks a hot loop function to be compiled twice on x86-64, for AVX2 and for the baseline,
// with the choice made once at load time by the CPU. Same results either way: the build has
// -ffp-contract=off and AVX2 does not include FMA.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PTE_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PTE_VECTOR_CLONES
#endif
