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

// Widens n consecutive elements of one storage format to binary32 (exactly); chosen once per
// call, so that packing pays no per-run dispatch.
typedef void (*widen_fn)(const void *src, float *dst, ptrdiff_t n);

static void widen_f32(const void *src, float *dst, ptrdiff_t n) {
  const float *s = (const float *)src;
  for (ptrdiff_t k = 0; k < n; k++) dst[k] = s[k];
}

static void widen_f16(const void *src, float *dst, ptrdiff_t n) {
  const uint16_t *s = (const uint16_t *)src;
  for (ptrdiff_t k = 0; k < n; k++) dst[k] = ht_half_to_float(s[k]);
}

static void widen_bf16(const void *src, float *dst, ptrdiff_t n) {
  const uint16_t *s = (const uint16_t *)src;
  for (ptrdiff_t k = 0; k < n; k++) dst[k] = ht_bfloat_to_float(s[k]);
}

#if defined(__x86_64__)
static void widen_f16_f16c(const void *src, float *dst, ptrdiff_t n) {
  ht_f16_to_f32_f16c((const uint16_t *)src, dst, (size_t)n);
}
#endif

static widen_fn widener(ht_isa isa, ht_format format) {
  switch (format) {
    case HT_F16:
#if defined(__x86_64__)
      if (isa != HT_ISA_PORTABLE) return widen_f16_f16c;
#endif
      return widen_f16;
    case HT_BF16: return widen_bf16;
    default: return widen_f32;
  }
}

static inline size_t element_size(ht_format format) { return format == HT_F32 ? 4 : 2; }

static inline float op_at(const ht_operand *o, ptrdiff_t i, ptrdiff_t j) {
  ptrdiff_t idx = i * o->row_stride + j * o->col_stride;
  switch (o->format) {
    case HT_F16: return ht_half_to_float(((const uint16_t *)o->data)[idx]);
    case HT_BF16: return ht_bfloat_to_float(((const uint16_t *)o->data)[idx]);
    default: return ((const float *)o->data)[idx];
  }
}

// Widens n consecutive elements starting at (i, j); the run is contiguous in memory.
static inline void load_run(widen_fn widen, const ht_operand *o, ptrdiff_t i, ptrdiff_t j,
                            ptrdiff_t n, float *out) {
  ptrdiff_t idx = i * o->row_stride + j * o->col_stride;
  if (o->format == HT_F32) {  // a plain copy: inline, no call through the pointer
    memcpy(out, (const float *)o->data + idx, (size_t)n * sizeof(float));
    return;
  }
  widen((const char *)o->data + (size_t)idx * element_size(o->format), out, n);
}

// ---- transposing copies: dst[k * ld + r] = row r's element k, for up to 16 rows ----
//
// Packing A from a row-major matrix, or B from a transposed one, turns rows of the source into
// columns of a sliver. Done element by element that is a scalar load and a scalar store per
// value; with AVX-512 it is 16 x 16 blocks transposed in registers. Both copy bits unchanged.

// The rows of one transposing copy: `rows` runs of `kc` binary32 values, widened into `buffer`
// first when the source is a 16-bit format.
typedef struct {
  const float *row[16];
  int rows;
} row_set;

static void row_set_load(row_set *set, widen_fn widen, const ht_operand *o, ptrdiff_t i,
                         ptrdiff_t j, int rows, int along_rows, ptrdiff_t kc, float *buffer) {
  // Run t starts at (i + t, j) when along_rows, else at (i, j + t); it is contiguous in memory.
  set->rows = rows;
  for (int t = 0; t < rows; t++) {
    ptrdiff_t ri = along_rows ? i + t : i, rj = along_rows ? j : j + t;
    if (o->format == HT_F32) {
      set->row[t] = (const float *)o->data + ri * o->row_stride + rj * o->col_stride;
    } else {
      load_run(widen, o, ri, rj, kc, buffer + (ptrdiff_t)t * KC);
      set->row[t] = buffer + (ptrdiff_t)t * KC;
    }
  }
}

static void transpose_portable(const row_set *set, ptrdiff_t kc, float *dst, ptrdiff_t ld) {
  for (ptrdiff_t k = 0; k < kc; k++)
    for (int r = 0; r < set->rows; r++) dst[k * ld + r] = set->row[r][k];
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void transpose_avx512(const row_set *set, ptrdiff_t kc,
                                                                 float *dst, ptrdiff_t ld) {
  int rows = set->rows;
  __mmask16 lanes = (__mmask16)((1u << rows) - 1u);
  ptrdiff_t k = 0;
  for (; k + 16 <= kc; k += 16) {
    __m512 v[16], a[16], b[16];
    for (int r = 0; r < 16; r++) v[r] = r < rows ? _mm512_loadu_ps(set->row[r] + k) : _mm512_setzero_ps();
    // 4 x 4 transposes inside each 128-bit lane: b[4i + j], lane L = rows 4i..4i+3 at k + 4L + j.
    for (int i = 0; i < 8; i++) {
      a[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
      a[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
      b[4 * i] = _mm512_shuffle_ps(a[4 * i], a[4 * i + 2], 0x44);
      b[4 * i + 1] = _mm512_shuffle_ps(a[4 * i], a[4 * i + 2], 0xEE);
      b[4 * i + 2] = _mm512_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0x44);
      b[4 * i + 3] = _mm512_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0xEE);
    }
    // Then the 4 x 4 grid of 128-bit lanes: column k + 4L + j gathers lane L of b[j], b[4+j], ...
    for (int j = 0; j < 4; j++) {
      __m512 c0 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0x44), c1 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0xEE);
      __m512 c2 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0x44), c3 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0xEE);
      _mm512_mask_storeu_ps(dst + (k + j) * ld, lanes, _mm512_shuffle_f32x4(c0, c2, 0x88));
      _mm512_mask_storeu_ps(dst + (k + 4 + j) * ld, lanes, _mm512_shuffle_f32x4(c0, c2, 0xDD));
      _mm512_mask_storeu_ps(dst + (k + 8 + j) * ld, lanes, _mm512_shuffle_f32x4(c1, c3, 0x88));
      _mm512_mask_storeu_ps(dst + (k + 12 + j) * ld, lanes, _mm512_shuffle_f32x4(c1, c3, 0xDD));
    }
  }
  for (; k < kc; k++)
    for (int r = 0; r < rows; r++) dst[k * ld + r] = set->row[r][k];
}
#endif

typedef void (*transpose_fn)(const row_set *set, ptrdiff_t kc, float *dst, ptrdiff_t ld);

static transpose_fn transposer(ht_isa isa) {
#if defined(__x86_64__)
  if (isa >= HT_ISA_AVX512) return transpose_avx512;
#endif
  (void)isa;
  return transpose_portable;
}

// How one operand is packed: its format's widening and the ISA's transposing copy, chosen per call.
typedef struct {
  widen_fn widen;
  transpose_fn transpose;
} packer;

// A[i0 .. i0+mc, k0 .. k0+kc] -> slivers of MR rows: dst[(s*kc + k)*MR + r].
static void pack_a(packer p, const ht_operand *A, ptrdiff_t i0, ptrdiff_t mc, ptrdiff_t k0,
                   ptrdiff_t kc, int MR, float *dst, float *buffer) {
  for (ptrdiff_t s = 0; s < mc; s += MR) {
    ptrdiff_t rows = mc - s < MR ? mc - s : MR;
    float *d = dst + s * kc;
    if (rows < MR) memset(d, 0, (size_t)(kc * MR) * sizeof(float));
    if (A->col_stride == 1) {
      row_set set;
      row_set_load(&set, p.widen, A, i0 + s, k0, (int)rows, 1, kc, buffer);
      p.transpose(&set, kc, d, MR);
    } else if (A->row_stride == 1) {
      for (ptrdiff_t k = 0; k < kc; k++) load_run(p.widen, A, i0 + s, k0 + k, rows, d + k * MR);
    } else {
      for (ptrdiff_t k = 0; k < kc; k++)
        for (ptrdiff_t r = 0; r < rows; r++) d[k * MR + r] = op_at(A, i0 + s + r, k0 + k);
    }
  }
}

// B[k0 .. k0+kc, j0 .. j0+nc] -> slivers of NR columns: dst[(s*kc + k)*NR + c].
static void pack_b(packer p, const ht_operand *B, ptrdiff_t k0, ptrdiff_t kc, ptrdiff_t j0,
                   ptrdiff_t nc, int NR, float *dst, float *buffer) {
  for (ptrdiff_t s = 0; s < nc; s += NR) {
    ptrdiff_t cols = nc - s < NR ? nc - s : NR;
    float *d = dst + s * kc;
    if (cols < NR) memset(d, 0, (size_t)(kc * NR) * sizeof(float));
    if (B->col_stride == 1) {
      for (ptrdiff_t k = 0; k < kc; k++) load_run(p.widen, B, k0 + k, j0 + s, cols, d + k * NR);
    } else if (B->row_stride == 1) {
      for (ptrdiff_t c0 = 0; c0 < cols; c0 += 16) {
        row_set set;
        row_set_load(&set, p.widen, B, k0, j0 + s + c0, (int)(cols - c0 < 16 ? cols - c0 : 16), 0, kc, buffer);
        p.transpose(&set, kc, d + c0, NR);
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

// The small product with contiguous a (m x K) and b (K x n), each row of C held in registers 32
// columns at a time (masked at the edge), so the chain over k never goes through memory. Same
// chain as SMALL_BODY: fma over k = 0..K-1 from +0 for every element.
__attribute__((target("avx512f"))) static void small_avx512(ptrdiff_t m, ptrdiff_t n, ptrdiff_t K,
                                                             const float *a, const float *b,
                                                             float *c, ptrdiff_t ldc) {
  for (ptrdiff_t j0 = 0; j0 < n; j0 += 32) {
    ptrdiff_t w = n - j0 < 32 ? n - j0 : 32;
    __mmask16 m0 = (__mmask16)(w >= 16 ? 0xFFFFu : (1u << w) - 1u);
    __mmask16 m1 = (__mmask16)(w > 16 ? (w == 32 ? 0xFFFFu : (1u << (w - 16)) - 1u) : 0u);
    for (ptrdiff_t i = 0; i < m; i++) {
      __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
      const float *ai = a + i * K, *bk = b + j0;
      for (ptrdiff_t k = 0; k < K; k++, bk += n) {
        __m512 aik = _mm512_set1_ps(ai[k]);
        acc0 = _mm512_fmadd_ps(aik, _mm512_maskz_loadu_ps(m0, bk), acc0);
        if (m1) acc1 = _mm512_fmadd_ps(aik, _mm512_maskz_loadu_ps(m1, bk + 16), acc1);
      }
      _mm512_mask_storeu_ps(c + i * ldc + j0, m0, acc0);
      if (m1) _mm512_mask_storeu_ps(c + i * ldc + j0 + 16, m1, acc1);
    }
  }
}
#endif

static ht_isa clamp_isa(ht_isa isa) {
  ht_isa best = ht_isa_best();
  return isa > best ? best : isa;
}

// C[i, j] += bias[j] over the block: the bias is added once to the finished fma chain.
static void add_bias(float *C, ptrdiff_t ldc, ptrdiff_t m0, ptrdiff_t m1, ptrdiff_t n0, ptrdiff_t n1,
                     const float *bias) {
  for (ptrdiff_t i = m0; i < m1; i++)
    for (ptrdiff_t j = n0; j < n1; j++) C[i * ldc + j] += bias[j];
}

void ht_sgemm(ht_isa isa, ptrdiff_t m0, ptrdiff_t m1, ptrdiff_t n0, ptrdiff_t n1, ptrdiff_t K,
              ht_operand A, ht_operand B, const float *bias, float *C, ptrdiff_t ldc) {
  ptrdiff_t m = m1 - m0, n = n1 - n0;
  if (m <= 0 || n <= 0) return;
  if (K <= 0) {
    for (ptrdiff_t i = m0; i < m1; i++) memset(C + i * ldc + n0, 0, (size_t)n * sizeof(float));
    if (bias) add_bias(C, ldc, m0, m1, n0, n1, bias);
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
    if (isa >= HT_ISA_AVX512)
      small_avx512(m, n, K, a, b, C + m0 * ldc + n0, ldc);
    else if (isa != HT_ISA_PORTABLE)
      small_fma(m, n, K, a, K, 1, b, n, 1, C + m0 * ldc + n0, ldc);
    else
#endif
      small_portable(m, n, K, a, K, 1, b, n, 1, C + m0 * ldc + n0, ldc);
    if (bias) add_bias(C, ldc, m0, m1, n0, n1, bias);
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
  packer pack_of_a = {widener(isa, A.format), transposer(isa)};
  packer pack_of_b = {widener(isa, B.format), transposer(isa)};
  float *rows_buffer = scratch(2, (size_t)(16 * KC));  // 16-bit runs widened for a transpose

  for (ptrdiff_t jc = n0; jc < n1; jc += NC) {
    ptrdiff_t nc = n1 - jc < NC ? n1 - jc : NC;
    for (ptrdiff_t pc = 0; pc < K; pc += KC) {
      ptrdiff_t kc = K - pc < KC ? K - pc : KC;
      int load_c = pc > 0;
      const float *last_bias = pc + kc == K ? bias : NULL;  // added after the chain's last block
      pack_b(pack_of_b, &B, pc, kc, jc, nc, NR, pb, rows_buffer);
      for (ptrdiff_t ic = m0; ic < m1; ic += MC) {
        ptrdiff_t mc = m1 - ic < MC ? m1 - ic : MC;
        pack_a(pack_of_a, &A, ic, mc, pc, kc, MR, pa, rows_buffer);
        for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
          ptrdiff_t nv = nc - jr < NR ? nc - jr : NR;
          for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
            ptrdiff_t mv = mc - ir < MR ? mc - ir : MR;
            float *cp = C + (ic + ir) * ldc + (jc + jr);
            const float *ap = pa + ir * kc, *bp = pb + jr * kc;
            if (mv == MR && nv == NR) {
              kernel(kc, ap, bp, cp, ldc, load_c);
              if (last_bias) add_bias(cp, ldc, 0, MR, 0, NR, last_bias + jc + jr);
            } else {
              for (ptrdiff_t r = 0; r < MR; r++)
                for (ptrdiff_t j = 0; j < NR; j++)
                  tile[r * NR + j] = (load_c && r < mv && j < nv) ? cp[r * ldc + j] : 0.0f;
              kernel(kc, ap, bp, tile, NR, load_c);
              for (ptrdiff_t r = 0; r < mv; r++)
                for (ptrdiff_t j = 0; j < nv; j++) cp[r * ldc + j] = tile[r * NR + j];
              if (last_bias) add_bias(cp, ldc, 0, mv, 0, nv, last_bias + jc + jr);
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
