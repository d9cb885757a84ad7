// Run-time CPU feature detection for the kernel dispatch.
#include "CHalfKernels.h"

ht_cpu_features ht_cpu_detect(void) {
  ht_cpu_features f = {0, 0, 0, 0};
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.f16c = __builtin_cpu_supports("f16c") != 0;
  f.fma = __builtin_cpu_supports("fma") != 0;
  f.avx2 = __builtin_cpu_supports("avx2") != 0;
  f.avx512f = __builtin_cpu_supports("avx512f") != 0;
#endif
  return f;
}

ht_isa ht_isa_best(void) {
  ht_cpu_features f = ht_cpu_detect();
  if (f.avx512f && f.f16c && f.fma && f.avx2) return HT_ISA_AVX512;
  if (f.avx2 && f.fma && f.f16c) return HT_ISA_AVX2;
  return HT_ISA_PORTABLE;
}
