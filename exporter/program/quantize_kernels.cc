#include "exporter/program/quantize_kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace pte {
namespace {

#if defined(__x86_64__)
// CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports has no "f16c").
bool has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
#endif

}  // namespace

bool cpu_supports(QuantizeVariant variant) {
  if (variant == QuantizeVariant::Portable) return true;
#if defined(__x86_64__) && defined(PTE_QUANTIZE_X86_KERNELS)
  // Asked once: CPUID traps to the hypervisor on a virtual machine, and this runs per row block.
  static const bool avx2 = __builtin_cpu_supports("avx2") && has_f16c();
  static const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (variant == QuantizeVariant::Avx2) return avx2;
  if (variant == QuantizeVariant::Avx512) return avx512;
#endif
  return false;
}

const char* variant_name(QuantizeVariant variant) {
  switch (variant) {
    case QuantizeVariant::Portable: return "portable";
    case QuantizeVariant::Avx2: return "avx2";
    case QuantizeVariant::Avx512: return "avx512";
  }
  return "?";
}

std::vector<QuantizeVariant> all_quantize_variants() {
  return {QuantizeVariant::Portable, QuantizeVariant::Avx2, QuantizeVariant::Avx512};
}

QuantizeVariant best_quantize_variant() {
  static const QuantizeVariant best = [] {
    if (cpu_supports(QuantizeVariant::Avx512)) return QuantizeVariant::Avx512;
    return cpu_supports(QuantizeVariant::Avx2) ? QuantizeVariant::Avx2 : QuantizeVariant::Portable;
  }();
  return best;
}

bool quantize_source_rows(QuantizeVariant variant, const uint8_t* source, DType source_dtype, int64_t first_row,
                          int64_t rows, int64_t cols, const QuantizedLayout& layout, uint8_t* codes,
                          uint8_t* scales) {
  detail::QuantizeSourceRowsFn fn = detail::quantize_source_rows_portable;
#if defined(PTE_QUANTIZE_X86_KERNELS)
  if (variant == QuantizeVariant::Avx2 && cpu_supports(variant)) fn = detail::quantize_source_rows_avx2;
  if (variant == QuantizeVariant::Avx512 && cpu_supports(variant)) fn = detail::quantize_source_rows_avx512;
#endif
  return fn(source, source_dtype, first_row, rows, cols, layout, codes, scales);
}

}  // namespace pte
