// SiLU, x * sigmoid(x), and its gradient in binary32, with an exp of its own so that the loop
// vectorises. The same loop bodies are compiled twice: with the AVX2/FMA target attribute
// (vectorised, vfmadd and vroundps) and portably (fmaf and rintf from the C library, correctly
// rounded). Every operation is an IEEE add, multiply, divide, fused multiply-add, round-to-
// nearest-integer or an exact power-of-two scaling, so both give the same bits.
#include "CHalfKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// No contraction of a * b + c into one fused multiply-add: only the AVX2 build could fuse, and
// its bits would then differ from the portable build's. Fused steps are written as fmaf.
#pragma STDC FP_CONTRACT OFF

// 2^n for an integer-valued float n in [-126, 127], built from its exponent bits.
static inline float pow2i(float n) {
  int32_t e = (int32_t)n + 127;
  uint32_t bits = (uint32_t)e << 23;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

// e^x within 2 ulp: n = rint(x / ln 2), r = x - n ln 2 in two fused steps (Cody-Waite), Cephes'
// degree-6 polynomial, then 2^n applied in two exact halves (so that n may reach -150 or 128:
// subnormal results round once, large ones overflow to infinity as expf does). NaN stays NaN.
static inline float ht_exp(float x) {
  float c = fminf(fmaxf(x, -104.0f), 89.0f);  // beyond these exp is 0 or infinity anyway
  float n = rintf(c * 1.44269504088896341f);
  float r = fmaf(n, -0.693359375f, c);
  r = fmaf(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = fmaf(p, r, 1.3981999507e-3f);
  p = fmaf(p, r, 8.3334519073e-3f);
  p = fmaf(p, r, 4.1665795894e-2f);
  p = fmaf(p, r, 1.6666665459e-1f);
  p = fmaf(p, r, 5.0000001201e-1f);
  float y = fmaf(p * r, r, r) + 1.0f;
  float half = truncf(n * 0.5f);
  float result = (y * pow2i(half)) * pow2i(n - half);
  return x != x ? x : result;
}

#define SILU_BODY                                                      \
  for (size_t i = 0; i < n; i++) {                                     \
    float xi = x[i];                                                   \
    y[i] = xi / (1.0f + ht_exp(-xi));                                  \
  }

#define SILU_GRAD_BODY                                                 \
  for (size_t i = 0; i < n; i++) {                                     \
    float xi = x[i];                                                   \
    float s = 1.0f / (1.0f + ht_exp(-xi));                             \
    dx[i] = g[i] * s * (1.0f + xi * (1.0f - s));                       \
  }

static void silu_portable(const float *x, float *y, size_t n) { SILU_BODY }
static void silu_grad_portable(const float *x, const float *g, float *dx, size_t n) { SILU_GRAD_BODY }

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void silu_avx2(const float *x, float *y, size_t n) { SILU_BODY }
__attribute__((target("avx2,fma"))) static void silu_grad_avx2(const float *x, const float *g, float *dx,
                                                                size_t n) {
  SILU_GRAD_BODY
}
#endif

void ht_silu_f32(ht_isa isa, const float *x, float *y, size_t n) {
#if defined(__x86_64__)
  if (isa != HT_ISA_PORTABLE && ht_isa_best() != HT_ISA_PORTABLE) {
    silu_avx2(x, y, n);
    return;
  }
#endif
  silu_portable(x, y, n);
}

void ht_silu_grad_f32(ht_isa isa, const float *x, const float *g, float *dx, size_t n) {
#if defined(__x86_64__)
  if (isa != HT_ISA_PORTABLE && ht_isa_best() != HT_ISA_PORTABLE) {
    silu_grad_avx2(x, g, dx, n);
    return;
  }
#endif
  silu_grad_portable(x, g, dx, n);
}
