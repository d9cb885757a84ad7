// Scalar binary16 and bfloat16 conversions shared by the portable kernels. The binary16 ones are
// bit-exact with F16C: round to nearest even, overflow to infinity, gradual underflow, NaN stays
// NaN (quietened, payload kept in its top bits).
#ifndef HT_INTERNAL_H
#define HT_INTERNAL_H
#include <stdint.h>
#include <string.h>

static inline float ht_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0) {
    float f = (float)m * 0x1p-24f;  // exact: m < 2^10
    memcpy(&x, &f, 4);
    x |= sign;
  } else if (e == 31) {
    x = sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u);
  } else {
    x = sign | ((e + 112u) << 23) | (m << 13);
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static inline uint16_t ht_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // >= 65520 (and inf) -> inf
  if (a >= 0x38800000u) {                                    // normal: >= 2^-14
    uint32_t h = ((((a >> 23) - 112u) << 10) | ((a & 0x7fffffu) >> 13));
    uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h += 1;  // may carry into the exponent
    return (uint16_t)(sign | h);
  }
  if (a < 0x33000000u) return (uint16_t)sign;  // below 2^-25: rounds to zero
  uint32_t m = (a & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126u - (a >> 23);  // 14...24
  uint32_t k = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (k & 1u))) k += 1;
  return (uint16_t)(sign | k);
}
// bfloat16 is the top half of a binary32: widening appends 16 zero bits (exact, NaN payloads
// kept); narrowing rounds the low 16 bits away to nearest even, which carries into the exponent
// where it must (so overflow reaches infinity and subnormals round like any other value), and
// sets the quiet bit of a NaN so that no NaN rounds to infinity.
static inline float ht_bfloat_to_float(uint16_t b) {
  uint32_t x = (uint32_t)b << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static inline uint16_t ht_float_to_bfloat(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);  // NaN: quiet
  return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}
#if defined(__x86_64__)
// The F16C widening loop (convert.c), for callers that already checked the CPU.
void ht_f16_to_f32_f16c(const uint16_t *s, float *d, size_t n);
#endif
#endif
