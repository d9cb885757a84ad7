// Single-precision GEMM over binary32, binary16 or bfloat16 operands, BLIS-style: B is packed
// into KC x NR slivers, A into MR x KC slivers (16-bit formats are widened while packing), and
// a register-blocked micro-kernel accumulates an MR x NR tile of C with fused multiply-adds.
//
// Bit-exactness contract (see CHalfKernels.h): every element is the fmaf chain over
// k = 0..K-1 from +0. The micro-kernel for the first KC block starts its accumulators at +0;
// later blocks reload the partial sums from C, which continues the same chain. Edge tiles run
// the same micro-kernel on zero-padded slivers. So the ISA, the tile size and the way a caller
// splits C between threads never change a result.
#include "CHalfKernels.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { KC = 256, MC = 120, NC = 2048, MR_MAX = 12, NR_MAX = 32 };
enum { SMALL_WORK = 32768 };  // m*n*K at or below this skips packing

typedef void (*micro_kernel)(ptrdiff_t kc, const float *a, const float *b, float *c,
                             ptrdiff_t ldc, int load_c);

// ---- per-thread scratch (reused across calls; GCD worker threads persist) ----

static _Thread_local float *tl_buf[3];
static _Thread_local size_t tl_cap[3];

static float *scratch(int slot, size_t n) {
  if (tl_cap[slot] < n) {
    free(tl_buf[slot]);
    size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    tl_buf[slot] = (float *)aligned_alloc(64, bytes);
    if (!tl_buf[slot]) abort();  // out of memory: nothing sensible to return
    tl_cap[slot] = n;
  }
  return tl_buf[slot];
}

// ---- operand access ----

static inline float op_at(const ht_operand *o, ptrdiff_t i, ptrdiff_t j) {
  ptrdiff_t idx = i * o->row_stride + j * o->col_stride;
  switch (o->format) {
    case HT_F16: return ht_half_to_float(((const uint16_t *)o->data)[idx]);
    case HT_BF16: return ht_bfloat_to_float(((const uint16_t *)o->data)[idx]);
    default: return ((const float *)o->data)[idx];
  }
}

// Copies n consecutive elements starting at (i, j); the run is contiguous in memory.
static inline void load_run(ht_isa isa, const ht_operand *o, ptrdiff_t i, ptrdiff_t j,
                            ptrdiff_t n, float *out) {
  ptrdiff_t idx = i * o->row_stride + j * o->col_stride;
  switch (o->format) {
    case HT_F16: ht_f16_to_f32(isa, (const uint16_t *)o->data + idx, out, (size_t)n); break;
    case HT_BF16: ht_bf16_to_f32(isa, (const uint16_t *)o->data + idx, out, (size_t)n); break;
    default: memcpy(out, (const float *)o->data + idx, (size_t)n * sizeof(float)); break;
  }
}

// A[i0 .. i0+mc, k0 .. k0+kc] -> slivers of MR rows: dst[(s*kc + k)*MR + r].
static void pack_a(ht_isa isa, const ht_operand *A, ptrdiff_t i0, ptrdiff_t mc, ptrdiff_t k0,
                   ptrdiff_t kc, int MR, float *dst) {
  float run[KC];
  for (ptrdiff_t s = 0; s < mc; s += MR) {
    ptrdiff_t rows = mc - s < MR ? mc - s : MR;
    float *d = dst + s * kc;
    if (rows < MR) memset(d, 0, (size_t)(kc * MR) * sizeof(float));
    if (A->col_stride == 1) {
      for (ptrdiff_t r = 0; r < rows; r++) {
        load_run(isa, A, i0 + s + r, k0, kc, run);
        for (ptrdiff_t k = 0; k < kc; k++) d[k * MR + r] = run[k];
      }
    } else if (A->row_stride == 1) {
      for (ptrdiff_t k = 0; k < kc; k++) load_run(isa, A, i0 + s, k0 + k, rows, d + k * MR);
    } else {
      for (ptrdiff_t k = 0; k < kc; k++)
        for (ptrdiff_t r = 0; r < rows; r++) d[k * MR + r] = op_at(A, i0 + s + r, k0 + k);
    }
  }
}

// B[k0 .. k0+kc, j0 .. j0+nc] -> slivers of NR columns: dst[(s*kc + k)*NR + c].
static void pack_b(ht_isa isa, const ht_operand *B, ptrdiff_t k0, ptrdiff_t kc, ptrdiff_t j0,
                   ptrdiff_t nc, int NR, float *dst) {
  float run[KC];
  for (ptrdiff_t s = 0; s < nc; s += NR) {
    ptrdiff_t cols = nc - s < NR ? nc - s : NR;
    float *d = dst + s * kc;
    if (cols < NR) memset(d, 0, (size_t)(kc * NR) * sizeof(float));
    if (B->col_stride == 1) {
      for (ptrdiff_t k = 0; k < kc; k++) load_run(isa, B, k0 + k, j0 + s, cols, d + k * NR);
    } else if (B->row_stride == 1) {
      for (ptrdiff_t c = 0; c < cols; c++) {
        load_run(isa, B, k0, j0 + s + c, kc, run);
        for (ptrdiff_t k = 0; k < kc; k++) d[k * NR + c] = run[k];
      }
    } else {
      for (ptrdiff_t k = 0; k < kc; k++)
        for (ptrdiff_t c = 0; c < cols; c++) d[k * NR + c] = op_at(B, k0 + k, j0 + s + c);
    }
  }
}

// ---- micro-kernels: C[MR x NR] (+)= a-sliver * b-sliver ----

enum { P_MR = 4, P_NR = 8 };
static void kernel_portable(ptrdiff_t kc, const float *a, const float *b, float *c,
                            ptrdiff_t ldc, int load_c) {
  float acc[P_MR][P_NR];
  for (int r = 0; r < P_MR; r++)
    for (int j = 0; j < P_NR; j++) acc[r][j] = load_c ? c[r * ldc + j] : 0.0f;
  for (ptrdiff_t k = 0; k < kc; k++, a += P_MR, b += P_NR)
    for (int r = 0; r < P_MR; r++)
      for (int j = 0; j < P_NR; j++) acc[r][j] = fmaf(a[r], b[j], acc[r][j]);
  for (int r = 0; r < P_MR; r++)
    for (int j = 0; j < P_NR; j++) c[r * ldc + j] = acc[r][j];
}

#if defined(__x86_64__)
enum { A2_MR = 6, A2_NR = 16 };
__attribute__((target("avx2,fma"))) static void kernel_avx2(ptrdiff_t kc, const float *a,
                                                             const float *b, float *c,
                                                             ptrdiff_t ldc, int load_c) {
  __m256 acc[A2_MR][2];
  for (int r = 0; r < A2_MR; r++) {
    acc[r][0] = load_c ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    acc[r][1] = load_c ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  }
  for (ptrdiff_t k = 0; k < kc; k++, a += A2_MR, b += A2_NR) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    for (int r = 0; r < A2_MR; r++) {
      __m256 ar = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < A2_MR; r++) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

enum { A5_MR = 12, A5_NR = 32 };
__attribute__((target("avx512f"))) static void kernel_avx512(ptrdiff_t kc, const float *a,
                                                              const float *b, float *c,
                                                              ptrdiff_t ldc, int load_c) {
  __m512 acc[A5_MR][2];
  for (int r = 0; r < A5_MR; r++) {
    acc[r][0] = load_c ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
    acc[r][1] = load_c ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();
  }
  for (ptrdiff_t k = 0; k < kc; k++, a += A5_MR, b += A5_NR) {
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    for (int r = 0; r < A5_MR; r++) {
      __m512 ar = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < A5_MR; r++) {
    _mm512_storeu_ps(c + r * ldc, acc[r][0]);
    _mm512_storeu_ps(c + r * ldc + 16, acc[r][1]);
  }
}
#endif

// ---- small problems: no packing, i-k-j order (vectorises over j, keeps the k chain) ----

// One body, compiled twice: portably (fmaf from the C library) and with the FMA target.
#define SMALL_BODY(T, FMA)                                        \
  for (ptrdiff_t i = 0; i < m; i++) {                             \
    T *ci = c + i * ldc;                                          \
    for (ptrdiff_t j = 0; j < n; j++) ci[j] = 0;                  \
    for (ptrdiff_t k = 0; k < K; k++) {                           \
      T aik = a[i * a_rs + k * a_cs];                             \
      for (ptrdiff_t j = 0; j < n; j++)                           \
        ci[j] = FMA(aik, b[k * b_rs + j * b_cs], ci[j]);          \
    }                                                             \
  }

#define SMALL_ARGS(T)                                                                       \
  ptrdiff_t m, ptrdiff_t n, ptrdiff_t K, const T *a, ptrdiff_t a_rs, ptrdiff_t a_cs, const T *b, \
      ptrdiff_t b_rs, ptrdiff_t b_cs, T *c, ptrdiff_t ldc

static void small_portable(SMALL_ARGS(float)) { SMALL_BODY(float, fmaf) }
static void dgemm_portable(SMALL_ARGS(double)) { SMALL_BODY(double, fma) }

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void small_fma(SMALL_ARGS(float)) { SMALL_BODY(float, fmaf) }
__attribute__((target("avx2,fma"))) static void dgemm_fma(SMALL_ARGS(double)) { SMALL_BODY(double, fma) }
#endif

static ht_isa clamp_isa(ht_isa isa) {
  ht_isa best = ht_isa_best();
  return isa > best ? best : isa;
}

void ht_sgemm(ht_isa isa, ptrdiff_t m0, ptrdiff_t m1, ptrdiff_t n0, ptrdiff_t n1, ptrdiff_t K,
              ht_operand A, ht_operand B, float *C, ptrdiff_t ldc) {
  ptrdiff_t m = m1 - m0, n = n1 - n0;
  if (m <= 0 || n <= 0) return;
  if (K <= 0) {
    for (ptrdiff_t i = m0; i < m1; i++) memset(C + i * ldc + n0, 0, (size_t)n * sizeof(float));
    return;
  }
  isa = clamp_isa(isa);

  if (m * n * K <= SMALL_WORK) {
    float *a = scratch(0, (size_t)(m * K)), *b = scratch(1, (size_t)(K * n));
    for (ptrdiff_t i = 0; i < m; i++)
      for (ptrdiff_t k = 0; k < K; k++) a[i * K + k] = op_at(&A, m0 + i, k);
    for (ptrdiff_t k = 0; k < K; k++)
      for (ptrdiff_t j = 0; j < n; j++) b[k * n + j] = op_at(&B, k, n0 + j);
#if defined(__x86_64__)
    if (isa != HT_ISA_PORTABLE) {
      small_fma(m, n, K, a, K, 1, b, n, 1, C + m0 * ldc + n0, ldc);
      return;
    }
#endif
    small_portable(m, n, K, a, K, 1, b, n, 1, C + m0 * ldc + n0, ldc);
    return;
  }

  int MR = P_MR, NR = P_NR;
  micro_kernel kernel = kernel_portable;
#if defined(__x86_64__)
  if (isa >= HT_ISA_AVX512) {
    MR = A5_MR;
    NR = A5_NR;
    kernel = kernel_avx512;
  } else if (isa == HT_ISA_AVX2) {
    MR = A2_MR;
    NR = A2_NR;
    kernel = kernel_avx2;
  }
#endif
  ptrdiff_t kc_max = K < KC ? K : KC;
  ptrdiff_t nc_max = n < NC ? n : NC;
  ptrdiff_t mc_max = m < MC ? m : MC;
  float *pb = scratch(0, (size_t)(kc_max * (((nc_max + NR - 1) / NR) * NR)));
  float *pa = scratch(1, (size_t)(kc_max * (((mc_max + MR - 1) / MR) * MR)));
  float tile[MR_MAX * NR_MAX];

  for (ptrdiff_t jc = n0; jc < n1; jc += NC) {
    ptrdiff_t nc = n1 - jc < NC ? n1 - jc : NC;
    for (ptrdiff_t pc = 0; pc < K; pc += KC) {
      ptrdiff_t kc = K - pc < KC ? K - pc : KC;
      int load_c = pc > 0;
      pack_b(isa, &B, pc, kc, jc, nc, NR, pb);
      for (ptrdiff_t ic = m0; ic < m1; ic += MC) {
        ptrdiff_t mc = m1 - ic < MC ? m1 - ic : MC;
        pack_a(isa, &A, ic, mc, pc, kc, MR, pa);
        for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
          ptrdiff_t nv = nc - jr < NR ? nc - jr : NR;
          for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
            ptrdiff_t mv = mc - ir < MR ? mc - ir : MR;
            float *cp = C + (ic + ir) * ldc + (jc + jr);
            const float *ap = pa + ir * kc, *bp = pb + jr * kc;
            if (mv == MR && nv == NR) {
              kernel(kc, ap, bp, cp, ldc, load_c);
            } else {
              for (ptrdiff_t r = 0; r < MR; r++)
                for (ptrdiff_t j = 0; j < NR; j++)
                  tile[r * NR + j] = (load_c && r < mv && j < nv) ? cp[r * ldc + j] : 0.0f;
              kernel(kc, ap, bp, tile, NR, load_c);
              for (ptrdiff_t r = 0; r < mv; r++)
                for (ptrdiff_t j = 0; j < nv; j++) cp[r * ldc + j] = tile[r * NR + j];
            }
          }
        }
      }
    }
  }
}

// ---- binary64 (small_* bodies above, same accumulation order) ----

void ht_dgemm(ht_isa isa, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A, ptrdiff_t a_rs,
              ptrdiff_t a_cs, const double *B, ptrdiff_t b_rs, ptrdiff_t b_cs, double *C,
              ptrdiff_t ldc) {
#if defined(__x86_64__)
  if (clamp_isa(isa) != HT_ISA_PORTABLE) {
    dgemm_fma(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc);
    return;
  }
#endif
  dgemm_portable(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc);
}
