// HalfTrace's native kernels: IEEE binary16 and bfloat16 <-> binary32 conversion and
// single-precision GEMM.
//
// Every kernel has a portable C implementation and, on x86-64, variants compiled with
// per-function target attributes (F16C, AVX2+FMA, AVX-512F, AVX-512 BF16) that are chosen at run
// time by a CPU check. All variants of a kernel give bit-identical results: conversions are exact or
// round to nearest even, and every GEMM output element is accumulated as a chain of fused
// multiply-adds over k = 0, 1, ..., K-1 starting from +0, whatever the ISA, tile size or
// thread split. That is what makes HalfTrace's traces independent of the machine's SIMD width
// and of the number of threads.
#ifndef CHALFKERNELS_H
#define CHALFKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels a kernel can be run at.
typedef enum {
  HT_ISA_PORTABLE = 0,  ///< plain C; fused multiply-add through fmaf()
  HT_ISA_AVX2 = 1,      ///< AVX2 + FMA + F16C
  HT_ISA_AVX512 = 2,    ///< AVX-512F (+ F16C)
  HT_ISA_AVX512BF16 = 3 ///< AVX-512F + AVX-512 BF16 (bfloat16 conversion instructions)
} ht_isa;

/// CPU features found at run time (all zero on CPUs other than x86-64).
typedef struct {
  int f16c;
  int fma;
  int avx2;
  int avx512f;
  int avx512bf16;
} ht_cpu_features;

ht_cpu_features ht_cpu_detect(void);

/// The CPUs this process may use, at least 1: the online CPUs, fewer when the affinity mask allows
/// fewer (taskset, a Slurm job's CPU set), fewer again when a cgroup CPU quota on the way to the
/// process's cgroup allows fewer (a Kubernetes CPU limit: v2 `cpu.max` or v1 `cpu.cfs_quota_us`,
/// quota / period rounded up).
/// Read once, then cached.
int ht_usable_cpus(void);

/// The smallest CPU quota (in CPUs, rounded up) on the way from a process's cgroup up to its
/// hierarchy's root, 0 when none: `self_cgroup` is the text of /proc/self/cgroup, the directories
/// those of the v2 hierarchy (/sys/fs/cgroup) and of the v1 cpu controller (/sys/fs/cgroup/cpu).
/// A v1 hierarchy with the cpu controller decides when there is one, else v2's.
long ht_cgroup_cpu_limit(const char *self_cgroup, const char *v2_root, const char *v1_cpu_root);

/// CPUs a cgroup v2 `cpu.max` line allows: ceil(quota / period); 0 for "max" or a line that is
/// not "QUOTA PERIOD" with both positive.
long ht_parse_cpu_max(const char *text);

/// The best ISA level this CPU supports.
ht_isa ht_isa_best(void);

/// binary16 -> binary32 (exact). Uses F16C when `isa` > portable and the CPU has it.
void ht_f16_to_f32(ht_isa isa, const uint16_t *src, float *dst, size_t n);

/// binary32 -> binary16, round to nearest even, overflow to infinity, gradual underflow.
void ht_f32_to_f16(ht_isa isa, const float *src, uint16_t *dst, size_t n);

/// Rounds every element of `x` to the nearest binary16 value and back (x = float(half(x))).
void ht_round_through_f16(ht_isa isa, float *x, size_t n);

/// bfloat16 -> binary32 (exact: the 16 bits become the top half).
void ht_bf16_to_f32(ht_isa isa, const uint16_t *src, float *dst, size_t n);

/// binary32 -> bfloat16: round to nearest even, overflow to infinity, subnormals kept (not
/// flushed), NaN stays NaN with its quiet bit set. AVX-512 BF16 where the CPU has it (with the
/// subnormal lanes, which that instruction flushes, redone in integer arithmetic), AVX2 integer
/// arithmetic otherwise.
void ht_f32_to_bf16(ht_isa isa, const float *src, uint16_t *dst, size_t n);

/// How a matrix operand's elements are stored.
typedef enum {
  HT_F32 = 0,  ///< binary32
  HT_F16 = 1,  ///< binary16 bits
  HT_BF16 = 2  ///< bfloat16 bits
} ht_format;

/// A read-only matrix operand: element (i, j) is at data[i * row_stride + j * col_stride]
/// (in elements), in `format`; 16-bit elements are widened to binary32 while packing.
typedef struct {
  const void *data;
  ht_format format;
  ptrdiff_t row_stride;
  ptrdiff_t col_stride;
} ht_operand;

/// C[i, j] = sum_k A[i, k] * B[k, j] (+ bias[j]) for i in [m0, m1), j in [n0, n1), computed in
/// binary32 as acc = +0; for k in 0..<K { acc = fmaf(A[i,k], B[k,j], acc) }; then, when bias is
/// not NULL, acc + bias[j] (one addition, in the epilogue). C is row-major with leading
/// dimension ldc and only the given block is written, so disjoint blocks may run concurrently.
void ht_sgemm(ht_isa isa, ptrdiff_t m0, ptrdiff_t m1, ptrdiff_t n0, ptrdiff_t n1, ptrdiff_t K,
              ht_operand A, ht_operand B, const float *bias, float *C, ptrdiff_t ldc);

/// The binary64 counterpart (same accumulation order, fma()), for Float64 tensors.
void ht_dgemm(ht_isa isa, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
              const double *A, ptrdiff_t a_rs, ptrdiff_t a_cs,
              const double *B, ptrdiff_t b_rs, ptrdiff_t b_cs,
              double *C, ptrdiff_t ldc);

/// One SGD step over n binary32 elements, PyTorch's op order with fused multiply-adds
/// (HalfTraceOptim's SGDStep documents the formula; a test holds the two bit-identical):
///   g = wd != 0 ? fma(p, wd, g) : g
///   buf = first ? g : fma(g, damp_c, buf * mu);  g = nesterov ? fma(buf, mu, g) : buf   (mu != 0)
///   p = fma(g, -lr, p)
void ht_sgd_f32(ht_isa isa, float *p, const float *g, float *buf, size_t n, float lr, float mu,
                float damp_c, float wd, int nesterov, int first);

/// One Adam/AdamW step over n binary32 elements (HalfTraceOptim's AdamStep):
///   decoupled ? p = p * decay : (wd != 0 ? g = fma(p, wd, g))
///   m = small_w ? fma(w, g - m, m) : fma(-(g - m), w_c, g)
///   v = fma(b2_c * g, g, v * b2)
///   p = p + (neg_step * m) / (sqrt(v) / corr2 + eps)
void ht_adam_f32(ht_isa isa, float *p, const float *g, float *m, float *v, size_t n, int decoupled,
                 float decay, float wd, int small_w, float w, float w_c, float b2, float b2_c,
                 float corr2, float eps, float neg_step);

/// YOLOv5's anchor ratio metric in binary32, for n labels (w[i], h[i]) and k anchors:
///   x = min(min(r_w, 1/r_w), min(r_h, 1/r_h)) with r = label / anchor (IEEE division, then the
///   reciprocal of the rounded ratio, as torch computes it); best[i] = max over anchors of x.
/// Returns the number of (label, anchor) pairs with x > thr. Every ISA gives the same bits.
/// y = x / (1 + exp(-x)) (SiLU) for n binary32 values, with HalfTrace's own exp (within 2 ulp of
/// e^x); the AVX2 and portable paths give the same bits.
void ht_silu_f32(ht_isa isa, const float *x, float *y, size_t n);
/// dx = g * s * (1 + x * (1 - s)), s = 1 / (1 + exp(-x)) (PyTorch's silu_backward order).
void ht_silu_grad_f32(ht_isa isa, const float *x, const float *g, float *dx, size_t n);

size_t ht_anchor_best(ht_isa isa, const float *w, const float *h, size_t n, const float *aw,
                      const float *ah, size_t k, float thr, float *best);

/// A part of a parallel job: called once for each part in 0..<parts, where `parts` is what the
/// pool chose (1, or the job's maximum).
typedef void (*ht_task_fn)(void *ctx, int parts, int part);

/// Runs fn(ctx, parts, part) for every part in 0..<parts on the calling thread and the worker
/// pool (one thread per further core, at most 7), returning when all parts are done. The pool
/// chooses parts: `max_parts`, or 1 when the caller would run the job alone (the pool busy with
/// another job, or a call from inside a part), so that work done alone is not split (a split
/// costs even on one thread). Returns the parts it ran.
int ht_parallel(int max_parts, ht_task_fn fn, void *ctx);

/// The number of pool workers besides the calling thread.
int ht_parallel_workers(void);

/// What the pool did while counting was on: parallel regions run on the pool, regions run
/// inline (too small, a busy pool or one part), parts the caller ran, parts the workers ran,
/// and nanoseconds the caller spent waiting for a worker to finish a part it had claimed.
typedef struct {
  long long regions, inline_regions, caller_parts, worker_parts, wait_ns;
} ht_pool_stats;

/// Turns counting on (1) or off (0) and returns the counts since the last call (then zeroed).
/// Off, a region pays one relaxed atomic load for it.
ht_pool_stats ht_pool_counting(int on);

/// Keeps freed buffers in the heap (glibc: no mmap for large blocks, no trimming), so that
/// the buffers a training step frees come back, already mapped, in the next step.
void ht_keep_freed_buffers(void);

/// Makes stdout line-buffered, also when it is a file or a pipe.
void ht_stdout_line_buffered(void);

#ifdef __cplusplus
}
#endif

#endif
