import CHalfKernels

/// Process-wide allocator settings for training.
public enum Memory {
    /// Keeps freed tensor buffers in the heap for reuse. A training step allocates the same
    /// buffers every step; with glibc's defaults, buffers above the mmap threshold are mapped
    /// and unmapped each time (and the heap top is trimmed), so every step pays a page fault per
    /// 4 KiB touched. With the threshold raised, the next step gets the same memory back,
    /// already mapped. Peak memory does not grow: it is what a step needs.
    public static func keepFreedBuffers() { ht_keep_freed_buffers() }

    /// Makes standard output line-buffered even into a file or a pipe (by default it is then
    /// flushed only every few KiB), so that a long run's log (a Slurm job's file, `kubectl
    /// logs`) shows each finished line while the run goes on.
    public static func lineBufferedStandardOutput() { ht_stdout_line_buffered() }
}
