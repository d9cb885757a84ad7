import Foundation

/// Writes files so that a reader (or a crash) never sees a half-written one: the bytes go to a
/// temporary file in the same directory, are flushed to disk, and the file is renamed over the
/// destination in one step.
public enum AtomicFile {
    /// Writes `text` as UTF-8 to `path`, atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Writes `data` to `path`, atomically: a temporary file in the same directory, fsync, rename over
    /// `path`, then fsync of the directory. The directory must exist.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HalfTraceError.inaccessible(path, "the directory \(directory) does not exist")
        }
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw HalfTraceError.inaccessible(path, "cannot write in \(directory) (\(String(cString: strerror(errno))))")
        }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { ok = false; break }
                offset += n
            }
        }
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw HalfTraceError.inaccessible(path, "write failed (\(reason))")
        }
        // Make the rename itself durable.
        let dirfd = open(directory, O_RDONLY)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }

    /// Removes temporary files that a killed writer left in `directory` (".NAME.tmp-PID-N" whose
    /// process no longer runs), so that no half-written file stays on disk.
    public static func removeStaleTemporaries(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            let fields = name.components(separatedBy: ".tmp-").last?.split(separator: "-") ?? []
            guard let pid = fields.first.flatMap({ Int32($0) }) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 { unlink(directory + "/" + name) }
        }
    }

    /// Creates `path` (and its parents) as a directory, with a clear error when it cannot.
    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw HalfTraceError.inaccessible(path, "cannot create the directory (\(error.localizedDescription))")
        }
        guard access(path, W_OK) == 0 else { throw HalfTraceError.inaccessible(path, "the directory is not writable") }
    }
}
