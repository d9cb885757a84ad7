// Run-time CPU feature detection for the kernel dispatch, and the number of CPUs this process
// may use (its affinity mask and its cgroup's CPU quota).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CHalfKernels.h"
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ht_cpu_features ht_cpu_detect(void) {
  ht_cpu_features f = {0, 0, 0, 0, 0};
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.f16c = __builtin_cpu_supports("f16c") != 0;
  f.fma = __builtin_cpu_supports("fma") != 0;
  f.avx2 = __builtin_cpu_supports("avx2") != 0;
  f.avx512f = __builtin_cpu_supports("avx512f") != 0;
  // The BF16 kernels also use AVX-512BW/DQ/VL masks, blends and classes (every BF16 CPU has them).
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
  return f;
}

ht_isa ht_isa_best(void) {
  // Detected once and cached with atomic loads and stores (threads may ask at the same time and
  // all compute the same value).
  static _Atomic int cached = -1;
  int best = atomic_load_explicit(&cached, memory_order_relaxed);
  if (best < 0) {
    ht_cpu_features f = ht_cpu_detect();
    int avx2 = f.avx2 && f.fma && f.f16c, avx512 = avx2 && f.avx512f;
    best = (avx512 && f.avx512bf16) ? HT_ISA_AVX512BF16 : avx512 ? HT_ISA_AVX512 : avx2 ? HT_ISA_AVX2 : HT_ISA_PORTABLE;
    atomic_store_explicit(&cached, best, memory_order_relaxed);
  }
  return (ht_isa)best;
}

long ht_parse_cpu_max(const char *text) {
  // cgroup v2 `cpu.max`: "$MAX $PERIOD", MAX "max" for no limit (Documentation/admin-guide/
  // cgroup-v2.rst, "cpu.max"). A quota of q microseconds per period p lets the group run q/p CPUs.
  if (text == NULL) return 0;
  while (*text == ' ') text++;
  if (strncmp(text, "max", 3) == 0) return 0;
  char *end;
  long long quota = strtoll(text, &end, 10);
  if (end == text || quota <= 0) return 0;
  const char *p = end;
  long long period = strtoll(p, &end, 10);
  if (end == p || period <= 0) return 0;
  long long cpus = quota / period + (quota % period != 0);  // rounded up, without overflow
  return cpus < 1 ? 1 : cpus > 1000000 ? 1000000 : (long)cpus;
}

// The CPUs the cgroup at `dir` allows: v2 `cpu.max`, or v1 `cpu.cfs_quota_us` and
// `cpu.cfs_period_us` (-1 for no limit); 0 when neither is set or readable.
static long cgroup_dir_limit(const char *dir, int v2) {
  char path[4400], text[128], period[64];
  snprintf(path, sizeof path, v2 ? "%s/cpu.max" : "%s/cpu.cfs_quota_us", dir);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  int ok = fgets(text, sizeof text - sizeof period - 1, f) != NULL;
  fclose(f);
  if (!ok) return 0;
  if (!v2) {
    text[strcspn(text, "\n")] = 0;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if ((f = fopen(path, "r")) == NULL) return 0;
    ok = fgets(period, sizeof period, f) != NULL;
    fclose(f);
    if (!ok) return 0;
    strcat(text, " ");
    strcat(text, period);
  }
  return ht_parse_cpu_max(text);
}

long ht_cgroup_cpu_limit(const char *self_cgroup, const char *v2_root, const char *v1_cpu_root) {
  // /proc/self/cgroup: one "ID:CONTROLLERS:PATH" line per hierarchy (cgroups(7)); v2's is
  // "0::PATH". A v1 hierarchy holding the cpu controller decides (on a hybrid system v2 has no
  // cpu controller); else v2's.
  char v1[4096] = "", v2[4096] = "", line[4096];
  int has_v1 = 0, has_v2 = 0;
  for (const char *at = self_cgroup; at != NULL && *at != 0;) {
    const char *nl = strchr(at, '\n');
    size_t len = nl ? (size_t)(nl - at) : strlen(at);
    if (len < sizeof line) {
      memcpy(line, at, len);
      line[len] = 0;
      char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
      if (b != NULL && b[1] == '/') {
        *a = 0;
        *b = 0;
        if (strcmp(line, "0") == 0 && a + 1 == b) {
          if (!has_v2) { strcpy(v2, b + 1); has_v2 = 1; }
        } else {
          char *save = NULL;
          for (char *c = strtok_r(a + 1, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save))
            if (strcmp(c, "cpu") == 0 && !has_v1) { strcpy(v1, b + 1); has_v1 = 1; }
        }
      }
    }
    at = nl ? nl + 1 : NULL;
  }
  if (!has_v1 && !has_v2) return 0;
  int is_v2 = !has_v1;
  const char *root = is_v2 ? v2_root : v1_cpu_root;
  char *rel = is_v2 ? v2 : v1, dir[4352];
  // From the process's cgroup up to the hierarchy's root, the smallest quota. Inside a container
  // the root directory is the container's own cgroup while the path may name the host's; the
  // walk reaches the root either way.
  long best = 0;
  for (;;) {
    snprintf(dir, sizeof dir, "%s%s", root, strcmp(rel, "/") == 0 ? "" : rel);
    long cpus = cgroup_dir_limit(dir, is_v2);
    if (cpus > 0 && (best == 0 || cpus < best)) best = cpus;
    char *slash = strrchr(rel, '/');
    if (slash == NULL || (slash == rel && rel[1] == 0)) break;
    if (slash == rel) rel[1] = 0; else *slash = 0;
  }
  return best;
}

int ht_usable_cpus(void) {
  static _Atomic int cached = 0;
  int n = atomic_load_explicit(&cached, memory_order_relaxed);
  if (n > 0) return n;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    long allowed = CPU_COUNT(&set);
    if (allowed > 0 && (cpus < 1 || allowed < cpus)) cpus = allowed;
  }
  char text[16384];
  size_t used = 0;
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (f != NULL) {
    used = fread(text, 1, sizeof text - 1, f);
    fclose(f);
  }
  text[used] = 0;
  long quota = ht_cgroup_cpu_limit(text, "/sys/fs/cgroup", "/sys/fs/cgroup/cpu");
  if (quota > 0 && (cpus < 1 || quota < cpus)) cpus = quota;
  n = cpus < 1 ? 1 : cpus > 1024 ? 1024 : (int)cpus;
  atomic_store_explicit(&cached, n, memory_order_relaxed);
  return n;
}
