// YOLOv5's anchor ratio metric (utils/autoanchor.py) in binary32: the inner loop of AutoAnchor.
#include "CHalfKernels.h"

#define ANCHOR_BODY                                                    \
  size_t above = 0;                                                    \
  for (size_t i = 0; i < n; i++) best[i] = 0.0f;                       \
  for (size_t j = 0; j < k; j++) {                                     \
    const float a = aw[j], b = ah[j];                                  \
    for (size_t i = 0; i < n; i++) {                                   \
      float rw = w[i] / a, rh = h[i] / b;                              \
      float iw = 1.0f / rw, ih = 1.0f / rh;                            \
      float xw = rw < iw ? rw : iw, xh = rh < ih ? rh : ih;            \
      float x = xw < xh ? xw : xh;                                     \
      best[i] = x > best[i] ? x : best[i];                             \
      above += x > thr;                                                \
    }                                                                  \
  }                                                                    \
  return above;

static size_t anchor_portable(const float *w, const float *h, size_t n, const float *aw, const float *ah,
                              size_t k, float thr, float *best) {
  ANCHOR_BODY
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static size_t anchor_avx512(const float *w, const float *h, size_t n,
                                                                const float *aw, const float *ah, size_t k,
                                                                float thr, float *best) {
  ANCHOR_BODY
}

__attribute__((target("avx2"))) static size_t anchor_avx2(const float *w, const float *h, size_t n,
                                                           const float *aw, const float *ah, size_t k,
                                                           float thr, float *best) {
  ANCHOR_BODY
}
#endif

size_t ht_anchor_best(ht_isa isa, const float *w, const float *h, size_t n, const float *aw,
                      const float *ah, size_t k, float thr, float *best) {
#if defined(__x86_64__)
  ht_isa best_isa = ht_isa_best();
  if (isa > best_isa) isa = best_isa;
  if (isa >= HT_ISA_AVX512) return anchor_avx512(w, h, n, aw, ah, k, thr, best);
  if (isa == HT_ISA_AVX2) return anchor_avx2(w, h, n, aw, ah, k, thr, best);
#endif
  (void)isa;
  return anchor_portable(w, h, n, aw, ah, k, thr, best);
}
