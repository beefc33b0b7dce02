#include "runtime-fast/simd_kernels.h"

namespace pte::fast {

bool cpu_supports(CpuVariant variant) {
  switch (variant) {
    case CpuVariant::Portable: return true;
    case CpuVariant::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  }
  return false;
}

CpuVariant best_cpu_variant() {
  return cpu_supports(CpuVariant::Avx2) ? CpuVariant::Avx2 : CpuVariant::Portable;
}

const char* variant_name(CpuVariant variant) {
  return variant == CpuVariant::Avx2 ? "avx2" : "portable";
}

const SimdKernels& simd_kernels(CpuVariant variant) {
  return variant == CpuVariant::Avx2 ? detail::kAvx2Kernels : detail::kPortableKernels;
}

}  // namespace pte::fast
