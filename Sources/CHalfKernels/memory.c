// Allocator settings for training (glibc only; elsewhere a no-op).
#include "CHalfKernels.h"
#include <stdio.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void ht_keep_freed_buffers(void) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // also stops the threshold's dynamic adjustment
  mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
#endif
}

void ht_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
