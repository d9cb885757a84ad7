// A small pool of persistent worker threads for the parallel parts of a training step (GEMM
// blocks, element-wise chunks, optimizer chunks). A step runs dozens of parallel regions of tens
// of microseconds each; waking a sleeping thread for each costs about as much as the work, so
// workers spin briefly on the job generation before they sleep on a condition variable.
//
// One job at a time: a caller that finds the pool busy (another thread's job, or a nested call
// from inside a job) runs the job alone, as one part. Parts are claimed through an atomic
// counter, so the caller also runs parts when a worker is slow to wake. Which thread runs a part,
// and how many parts a job has, never change what is computed (the callers split only work whose
// every element is computed the same whatever the split).

#include "CHalfKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define HT_PAUSE() _mm_pause()
#else
#define HT_PAUSE() ((void)0)
#endif

enum { MAX_WORKERS = 7, SPIN_ROUNDS = 1000 };  // a few microseconds of spinning (PAUSE is 10-140 cycles)

static struct {
  pthread_mutex_t busy;       // held by the caller whose job runs
  pthread_mutex_t lock;       // guards sleeping workers' wake-up
  pthread_cond_t wake;
  _Atomic unsigned long generation;
  _Atomic int next_part, done_parts;
  int parts;
  ht_task_fn fn;
  void *ctx;
  int workers;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

// Counting for `bench` (ht_pool_counting): off, one relaxed load per region.
static _Atomic int counting;
static _Atomic long long stat_regions, stat_inline, stat_caller_parts, stat_worker_parts, stat_wait_ns;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

ht_pool_stats ht_pool_counting(int on) {
  ht_pool_stats s = {
      atomic_exchange(&stat_regions, 0), atomic_exchange(&stat_inline, 0), atomic_exchange(&stat_caller_parts, 0),
      atomic_exchange(&stat_worker_parts, 0), atomic_exchange(&stat_wait_ns, 0)};
  atomic_store(&counting, on);
  return s;
}

// Claims and runs parts until none is left; returns how many it ran.
static int run_parts(void) {
  int ran = 0;
  for (;;) {
    int part = atomic_fetch_add_explicit(&pool.next_part, 1, memory_order_acq_rel);
    if (part >= pool.parts) return ran;
    pool.fn(pool.ctx, pool.parts, part);
    ran++;
  }
}

static void *worker(void *arg) {
  (void)arg;
  unsigned long seen = 0;
  for (;;) {
    unsigned long g = atomic_load_explicit(&pool.generation, memory_order_acquire);
    for (int i = 0; g == seen && i < SPIN_ROUNDS; i++) {
      HT_PAUSE();
      g = atomic_load_explicit(&pool.generation, memory_order_acquire);
    }
    if (g == seen) {
      pthread_mutex_lock(&pool.lock);
      while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
      pthread_mutex_unlock(&pool.lock);
    }
    seen = g;
    int ran = run_parts();
    if (ran) {
      if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add(&stat_worker_parts, ran);
      atomic_fetch_add_explicit(&pool.done_parts, ran, memory_order_acq_rel);
    }
  }
  return NULL;
}

static void start_pool(void) {
  int n = ht_usable_cpus() - 1;
  if (n > MAX_WORKERS) n = MAX_WORKERS;
  for (int i = 0; i < n; i++) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker, NULL) == 0) pool.workers++;
    pthread_attr_destroy(&attr);
  }
}

int ht_parallel(int max_parts, ht_task_fn fn, void *ctx) {
  if (max_parts <= 0) return 0;
  pthread_once(&pool_once, start_pool);
  int count = atomic_load_explicit(&counting, memory_order_relaxed);
  if (max_parts == 1 || pool.workers == 0 || pthread_mutex_trylock(&pool.busy) != 0) {
    fn(ctx, 1, 0);
    if (count) atomic_fetch_add(&stat_inline, 1);
    return 1;
  }
  int parts = max_parts;
  pool.fn = fn;
  pool.ctx = ctx;
  pool.parts = parts;
  atomic_store_explicit(&pool.done_parts, 0, memory_order_relaxed);
  atomic_store_explicit(&pool.next_part, 0, memory_order_release);
  pthread_mutex_lock(&pool.lock);
  atomic_fetch_add_explicit(&pool.generation, 1, memory_order_acq_rel);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  int ran = run_parts();
  atomic_fetch_add_explicit(&pool.done_parts, ran, memory_order_acq_rel);
  // A worker still running a part it claimed: spin briefly, then give the core away (on a
  // loaded machine the worker may be waiting for exactly this core).
  long long wait_start = count && atomic_load_explicit(&pool.done_parts, memory_order_acquire) < parts ? now_ns() : 0;
  for (int i = 0; atomic_load_explicit(&pool.done_parts, memory_order_acquire) < parts; i++) {
    if (i < SPIN_ROUNDS) HT_PAUSE();
    else sched_yield();
  }
  if (count) {
    atomic_fetch_add(&stat_regions, 1);
    atomic_fetch_add(&stat_caller_parts, ran);
    if (wait_start) atomic_fetch_add(&stat_wait_ns, now_ns() - wait_start);
  }
  pthread_mutex_unlock(&pool.busy);
  return parts;
}

int ht_parallel_workers(void) {
  pthread_once(&pool_once, start_pool);
  return pool.workers;
}
