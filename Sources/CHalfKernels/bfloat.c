// bfloat16 <-> binary32 conversion: portable C, AVX2 and AVX-512F integer arithmetic, and
// AVX-512 BF16.
//
// All paths give the bits of ht_float_to_bfloat / ht_bfloat_to_float (internal.h). The AVX-512
// BF16 instructions (VCVTNE2PS2BF16) round to nearest even and quieten NaNs the same way, but
// treat subnormal inputs as zero (Intel SDM, "VCVTNE2PS2BF16"); the lanes holding a subnormal
// are recomputed with the integer rounding, so no path flushes.
#include "CHalfKernels.h"
#include "internal.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

// ---- AVX2: 32-bit integer arithmetic, 8 lanes ----

// Rounds 8 binary32 patterns that are not NaN: (x + 0x7fff + lsb) >> 16 in 32-bit lanes.
__attribute__((target("avx2"))) static inline __m256i bf16_round_avx2(__m256i x) {
  __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
  return _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), lsb), 16);
}

// The same with NaN lanes quietened, (x >> 16) | 0x40: for blocks that hold a NaN.
__attribute__((target("avx2"))) static inline __m256i bf16_round_nan_avx2(__m256i x) {
  __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
  __m256 f = _mm256_castsi256_ps(x);
  __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
  return _mm256_blendv_epi8(bf16_round_avx2(x), quiet, nan);
}

// Two vectors of 8 rounded patterns (in the low halves of 32-bit lanes) -> 16 bfloat16.
__attribute__((target("avx2"))) static inline void bf16_store_avx2(uint16_t *d, __m256i a, __m256i b) {
  // packus interleaves 128-bit halves: a0-3 b0-3 a4-7 b4-7; the permute restores the order.
  _mm256_storeu_si256((__m256i *)d, _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8));
}

__attribute__((target("avx2"))) static void f32_to_bf16_avx2(const float *s, uint16_t *d, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 f0 = _mm256_loadu_ps(s + i), f1 = _mm256_loadu_ps(s + i + 8);
    __m256 f2 = _mm256_loadu_ps(s + i + 16), f3 = _mm256_loadu_ps(s + i + 24);
    // One unordered compare covers two vectors; NaNs are rare, so they take a second pass.
    int nan = _mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(f0, f1, _CMP_UNORD_Q), _mm256_cmp_ps(f2, f3, _CMP_UNORD_Q)));
    __m256i x0 = _mm256_castps_si256(f0), x1 = _mm256_castps_si256(f1);
    __m256i x2 = _mm256_castps_si256(f2), x3 = _mm256_castps_si256(f3);
    if (nan) {
      bf16_store_avx2(d + i, bf16_round_nan_avx2(x0), bf16_round_nan_avx2(x1));
      bf16_store_avx2(d + i + 16, bf16_round_nan_avx2(x2), bf16_round_nan_avx2(x3));
    } else {
      bf16_store_avx2(d + i, bf16_round_avx2(x0), bf16_round_avx2(x1));
      bf16_store_avx2(d + i + 16, bf16_round_avx2(x2), bf16_round_avx2(x3));
    }
  }
  for (; i < n; i++) d[i] = ht_float_to_bfloat(s[i]);
}

__attribute__((target("avx2"))) static void bf16_to_f32_avx2(const uint16_t *s, float *d, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i lo = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + i)));
    __m256i hi = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + i + 8)));
    _mm256_storeu_si256((__m256i *)(d + i), _mm256_slli_epi32(lo, 16));
    _mm256_storeu_si256((__m256i *)(d + i + 8), _mm256_slli_epi32(hi, 16));
  }
  for (; i < n; i++) d[i] = ht_bfloat_to_float(s[i]);
}

// ---- AVX-512F: the same integer arithmetic, 16 lanes (CPUs with AVX-512 but not BF16) ----

#define HT_AVX512 __attribute__((target("avx512f")))

HT_AVX512 static inline __m512i bf16_round_avx512(__m512i x) {
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), lsb), 16);
  __mmask16 nan = _mm512_cmp_ps_mask(_mm512_castsi512_ps(x), _mm512_castsi512_ps(x), _CMP_UNORD_Q);
  __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(0x40));
  return _mm512_mask_blend_epi32(nan, rounded, quiet);
}

HT_AVX512 static void f32_to_bf16_avx512(const float *s, uint16_t *d, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256((__m256i *)(d + i), _mm512_cvtepi32_epi16(bf16_round_avx512(_mm512_loadu_si512(s + i))));
  for (; i < n; i++) d[i] = ht_float_to_bfloat(s[i]);
}

HT_AVX512 static void bf16_to_f32_avx512(const uint16_t *s, float *d, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(s + i)));
    __m512i hi = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(s + i + 16)));
    _mm512_storeu_si512(d + i, _mm512_slli_epi32(lo, 16));
    _mm512_storeu_si512(d + i + 16, _mm512_slli_epi32(hi, 16));
  }
  for (; i < n; i++) d[i] = ht_bfloat_to_float(s[i]);
}

// ---- AVX-512 BF16: VCVTNE2PS2BF16, subnormal lanes redone in integer arithmetic ----

#define HT_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

HT_BF16 static inline __m512i bf16_convert_pair(__m512 a, __m512 b) {
  __m512i hw = (__m512i)_mm512_cvtne2ps_pbh(b, a);  // a in the low half, b in the high half
  // VFPCLASSPS category 0x20: denormal. Rare in data; a block holding one is redone.
  __mmask16 da = _mm512_fpclass_ps_mask(a, 0x20), db = _mm512_fpclass_ps_mask(b, 0x20);
  if ((da | db) == 0) return hw;
  __m256i ra = _mm512_cvtepi32_epi16(bf16_round_avx512(_mm512_castps_si512(a)));
  __m256i rb = _mm512_cvtepi32_epi16(bf16_round_avx512(_mm512_castps_si512(b)));
  __m512i fixed = _mm512_inserti64x4(_mm512_castsi256_si512(ra), rb, 1);
  return _mm512_mask_blend_epi16((__mmask32)da | (__mmask32)db << 16, hw, fixed);
}

HT_BF16 static void f32_to_bf16_bf16(const float *s, uint16_t *d, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    _mm512_storeu_si512(d + i, bf16_convert_pair(_mm512_loadu_ps(s + i), _mm512_loadu_ps(s + i + 16)));
  if (i < n) {  // the tail through masked loads and a masked store, on the same instructions
    size_t left = n - i;
    __mmask32 m = left >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << left) - 1);
    __m512 a = _mm512_maskz_loadu_ps((__mmask16)m, s + i), b = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), s + i + 16);
    _mm512_mask_storeu_epi16(d + i, m, bf16_convert_pair(a, b));
  }
}
#endif

static ht_isa clamp(ht_isa isa) {
  ht_isa best = ht_isa_best();
  return isa > best ? best : isa;
}

void ht_bf16_to_f32(ht_isa isa, const uint16_t *src, float *dst, size_t n) {
#if defined(__x86_64__)
  switch (clamp(isa)) {
    case HT_ISA_AVX512BF16:
    case HT_ISA_AVX512: bf16_to_f32_avx512(src, dst, n); return;
    case HT_ISA_AVX2: bf16_to_f32_avx2(src, dst, n); return;
    default: break;
  }
#endif
  (void)isa;
  for (size_t i = 0; i < n; i++) dst[i] = ht_bfloat_to_float(src[i]);
}

void ht_f32_to_bf16(ht_isa isa, const float *src, uint16_t *dst, size_t n) {
#if defined(__x86_64__)
  switch (clamp(isa)) {
    case HT_ISA_AVX512BF16: f32_to_bf16_bf16(src, dst, n); return;
    case HT_ISA_AVX512: f32_to_bf16_avx512(src, dst, n); return;
    case HT_ISA_AVX2: f32_to_bf16_avx2(src, dst, n); return;
    default: break;
  }
#endif
  (void)isa;
  for (size_t i = 0; i < n; i++) dst[i] = ht_float_to_bfloat(src[i]);
}
