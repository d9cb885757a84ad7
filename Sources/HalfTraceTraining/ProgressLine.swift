import Foundation

/// A one-line progress display on a terminal (standard error); silent when stderr is not a TTY.
public final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var lastLength = 0

    /// A display on standard error; with `enabled` nil it is on exactly when stderr is a terminal.
    public init(enabled: Bool? = nil) {
        self.enabled = enabled ?? (isatty(STDERR_FILENO) != 0)
    }

    /// Replaces the line with `text`, padded to erase a longer previous text.
    public func update(_ text: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let padded = text.count < lastLength ? text + String(repeating: " ", count: lastLength - text.count) : text
        lastLength = text.count
        FileHandle.standardError.write(Data(("\r" + padded).utf8))
    }

    /// Erases the line and returns the cursor to its start.
    public func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if lastLength > 0 {
            FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: lastLength) + "\r").utf8))
        }
        lastLength = 0
    }
}
