// Optimizer element loops in binary32 with exact fused multiply-adds. The same loop body is
// compiled twice: with the FMA target attribute (vectorised vfmadd) and portably (fmaf from the
// C library, correctly rounded). Both give the bits of HalfTraceOptim's generic SGDStep/AdamStep.
#include "CHalfKernels.h"

#include <math.h>

// sqrt without errno (llvm.sqrt), so the Adam loop vectorises; correctly rounded either way.
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
#define HT_SQRTF(x) __builtin_elementwise_sqrt(x)
#else
#define HT_SQRTF(x) sqrtf(x)
#endif

#define SGD_BODY                                                        \
  for (size_t i = 0; i < n; i++) {                                      \
    float gi = g[i];                                                    \
    if (wd != 0.0f) gi = fmaf(p[i], wd, gi);                            \
    if (mu != 0.0f) {                                                   \
      float b = first ? gi : fmaf(gi, damp_c, buf[i] * mu);             \
      buf[i] = b;                                                       \
      gi = nesterov ? fmaf(b, mu, gi) : b;                              \
    }                                                                   \
    p[i] = fmaf(gi, -lr, p[i]);                                         \
  }

#define ADAM_BODY                                                       \
  for (size_t i = 0; i < n; i++) {                                      \
    float gi = g[i], pi = p[i];                                         \
    if (decoupled)                                                      \
      pi = pi * decay;                                                  \
    else if (wd != 0.0f)                                                \
      gi = fmaf(pi, wd, gi);                                            \
    float d = gi - m[i];                                                \
    float mi = small_w ? fmaf(w, d, m[i]) : fmaf(-d, w_c, gi);          \
    float vi = fmaf(b2_c * gi, gi, v[i] * b2);                          \
    m[i] = mi;                                                          \
    v[i] = vi;                                                          \
    p[i] = pi + (neg_step * mi) / (HT_SQRTF(vi) / corr2 + eps);            \
  }

static void sgd_portable(float *p, const float *g, float *buf, size_t n, float lr, float mu,
                         float damp_c, float wd, int nesterov, int first) {
  SGD_BODY
}

static void adam_portable(float *p, const float *g, float *m, float *v, size_t n, int decoupled,
                          float decay, float wd, int small_w, float w, float w_c, float b2,
                          float b2_c, float corr2, float eps, float neg_step) {
  ADAM_BODY
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void sgd_fma(float *p, const float *g, float *buf,
                                                         size_t n, float lr, float mu,
                                                         float damp_c, float wd, int nesterov,
                                                         int first) {
  SGD_BODY
}

__attribute__((target("avx2,fma"))) static void adam_fma(float *p, const float *g, float *m,
                                                          float *v, size_t n, int decoupled,
                                                          float decay, float wd, int small_w,
                                                          float w, float w_c, float b2,
                                                          float b2_c, float corr2, float eps,
                                                          float neg_step) {
  ADAM_BODY
}
#endif

void ht_sgd_f32(ht_isa isa, float *p, const float *g, float *buf, size_t n, float lr, float mu,
                float damp_c, float wd, int nesterov, int first) {
#if defined(__x86_64__)
  if (isa != HT_ISA_PORTABLE && ht_isa_best() != HT_ISA_PORTABLE) {
    sgd_fma(p, g, buf, n, lr, mu, damp_c, wd, nesterov, first);
    return;
  }
#endif
  sgd_portable(p, g, buf, n, lr, mu, damp_c, wd, nesterov, first);
}

void ht_adam_f32(ht_isa isa, float *p, const float *g, float *m, float *v, size_t n, int decoupled,
                 float decay, float wd, int small_w, float w, float w_c, float b2, float b2_c,
                 float corr2, float eps, float neg_step) {
#if defined(__x86_64__)
  if (isa != HT_ISA_PORTABLE && ht_isa_best() != HT_ISA_PORTABLE) {
    adam_fma(p, g, m, v, n, decoupled, decay, wd, small_w, w, w_c, b2, b2_c, corr2, eps, neg_step);
    return;
  }
#endif
  adam_portable(p, g, m, v, n, decoupled, decay, wd, small_w, w, w_c, b2, b2_c, corr2, eps, neg_step);
}
