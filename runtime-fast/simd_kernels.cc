#include "runtime-fast/simd_kernels.h"

#include <cpuid.h>

namespace pte::fast {
namespace {

// CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports has no "f16c").
bool has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

}  // namespace

bool cpu_supports(CpuVariant variant) {
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
  switch (variant) {
    case CpuVariant::Portable: return true;
    case CpuVariant::Avx2: return avx2;
    case CpuVariant::Avx512: return avx2 && __builtin_cpu_supports("avx512f");
  }
  return false;
}

CpuVariant best_cpu_variant() {
  if (cpu_supports(CpuVariant::Avx512)) return CpuVariant::Avx512;
  return cpu_supports(CpuVariant::Avx2) ? CpuVariant::Avx2 : CpuVariant::Portable;
}

const char* variant_name(CpuVariant variant) {
  switch (variant) {
    case CpuVariant::Portable: return "portable";
    case CpuVariant::Avx2: return "avx2";
    case CpuVariant::Avx512: return "avx512";
  }
  return "?";
}

const SimdKernels& simd_kernels(CpuVariant variant) {
  switch (variant) {
    case CpuVariant::Avx2: return detail::kAvx2Kernels;
    case CpuVariant::Avx512: return detail::kAvx512Kernels;
    default: return detail::kPortableKernels;
  }
}

}  // namespace pte::fast
