// Run-time CPU feature detection for the kernel dispatch.
#include "CHalfKernels.h"
#include <stdatomic.h>

ht_cpu_features ht_cpu_detect(void) {
  ht_cpu_features f = {0, 0, 0, 0, 0};
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.f16c = __builtin_cpu_supports("f16c") != 0;
  f.fma = __builtin_cpu_supports("fma") != 0;
  f.avx2 = __builtin_cpu_supports("avx2") != 0;
  f.avx512f = __builtin_cpu_supports("avx512f") != 0;
  // The BF16 kernels also use AVX-512BW/DQ/VL masks, blends and classes (every BF16 CPU has them).
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
  return f;
}

ht_isa ht_isa_best(void) {
  // Detected once and cached with atomic loads and stores (threads may ask at the same time and
  // all compute the same value).
  static _Atomic int cached = -1;
  int best = atomic_load_explicit(&cached, memory_order_relaxed);
  if (best < 0) {
    ht_cpu_features f = ht_cpu_detect();
    int avx2 = f.avx2 && f.fma && f.f16c, avx512 = avx2 && f.avx512f;
    best = (avx512 && f.avx512bf16) ? HT_ISA_AVX512BF16 : avx512 ? HT_ISA_AVX512 : avx2 ? HT_ISA_AVX2 : HT_ISA_PORTABLE;
    atomic_store_explicit(&cached, best, memory_order_relaxed);
  }
  return (ht_isa)best;
}
