// IEEE binary16 <-> binary32 conversion: a portable bit-exact version and F16C versions.
#include "CHalfKernels.h"
#include "internal.h"
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx,f16c"))) void ht_f16_to_f32_f16c(const uint16_t *s, float *d, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i)));
    __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i + 8)));
    __m256 c = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i + 16)));
    __m256 e = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i + 24)));
    _mm256_storeu_ps(d + i, a);
    _mm256_storeu_ps(d + i + 8, b);
    _mm256_storeu_ps(d + i + 16, c);
    _mm256_storeu_ps(d + i + 24, e);
  }
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
  if (i < n) {  // tail through a padded buffer so that every element takes the same path
    uint16_t hs[8] = {0};
    float fs[8];
    memcpy(hs, s + i, (n - i) * sizeof(uint16_t));
    _mm256_storeu_ps(fs, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)hs)));
    memcpy(d + i, fs, (n - i) * sizeof(float));
  }
}

__attribute__((target("avx,f16c"))) static void f32_to_f16_f16c(const float *s, uint16_t *d,
                                                                  size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(s + i), 0);
    __m128i b = _mm256_cvtps_ph(_mm256_loadu_ps(s + i + 8), 0);
    __m128i c = _mm256_cvtps_ph(_mm256_loadu_ps(s + i + 16), 0);
    __m128i e = _mm256_cvtps_ph(_mm256_loadu_ps(s + i + 24), 0);
    _mm_storeu_si128((__m128i *)(d + i), a);
    _mm_storeu_si128((__m128i *)(d + i + 8), b);
    _mm_storeu_si128((__m128i *)(d + i + 16), c);
    _mm_storeu_si128((__m128i *)(d + i + 24), e);
  }
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(s + i), 0));
  if (i < n) {
    float fs[8] = {0};
    uint16_t hs[8];
    memcpy(fs, s + i, (n - i) * sizeof(float));
    _mm_storeu_si128((__m128i *)hs, _mm256_cvtps_ph(_mm256_loadu_ps(fs), 0));
    memcpy(d + i, hs, (n - i) * sizeof(uint16_t));
  }
}

__attribute__((target("avx,f16c"))) static void round_through_f16_f16c(float *x, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), 0)));
  if (i < n) {
    float fs[8] = {0};
    memcpy(fs, x + i, (n - i) * sizeof(float));
    _mm256_storeu_ps(fs, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(fs), 0)));
    memcpy(x + i, fs, (n - i) * sizeof(float));
  }
}
#endif

static int use_f16c(ht_isa isa) {
#if defined(__x86_64__)
  // Cached with atomic loads and stores: GEMM threads may ask at the same time. Every thread
  // computes the same value, so a relaxed order suffices.
  static _Atomic int has = -1;
  int known = atomic_load_explicit(&has, memory_order_relaxed);
  if (known < 0) {
    known = ht_cpu_detect().f16c;
    atomic_store_explicit(&has, known, memory_order_relaxed);
  }
  return isa != HT_ISA_PORTABLE && known;
#else
  (void)isa;
  return 0;
#endif
}

void ht_f16_to_f32(ht_isa isa, const uint16_t *src, float *dst, size_t n) {
#if defined(__x86_64__)
  if (use_f16c(isa)) {
    ht_f16_to_f32_f16c(src, dst, n);
    return;
  }
#endif
  for (size_t i = 0; i < n; i++) dst[i] = ht_half_to_float(src[i]);
}

void ht_f32_to_f16(ht_isa isa, const float *src, uint16_t *dst, size_t n) {
#if defined(__x86_64__)
  if (use_f16c(isa)) {
    f32_to_f16_f16c(src, dst, n);
    return;
  }
#endif
  for (size_t i = 0; i < n; i++) dst[i] = ht_float_to_half(src[i]);
}

void ht_round_through_f16(ht_isa isa, float *x, size_t n) {
#if defined(__x86_64__)
  if (use_f16c(isa)) {
    round_through_f16_f16c(x, n);
    return;
  }
#endif
  for (size_t i = 0; i < n; i++) x[i] = ht_half_to_float(ht_float_to_half(x[i]));
}
