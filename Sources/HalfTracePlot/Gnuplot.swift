import Foundation
import HalfTraceFigures
import HalfTraceKernels

/// Renders figures with gnuplot: the only I/O of the plot module.
public enum Gnuplot {
    /// The gnuplot executable on PATH, if any.
    public static var executable: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { "\($0)/gnuplot" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public static let installHint = "gnuplot is not installed: figures are skipped (every number was still checked). Install it with `apt-get install -y gnuplot-nox` (Debian/Ubuntu) or `brew install gnuplot`."

    /// Writes DIRECTORY/NAME.png and NAME.svg. gnuplot writes temporary files that are renamed
    /// into place only when it succeeded, so no half-written figure is ever left behind.
    public static func render(_ figure: Figure, directory: String, svg: Bool = true, suffix: String = "") throws {
        guard let gnuplot = executable else { throw HalfTraceError.misuse(installHint) }
        let base = directory + "/" + figure.name + suffix
        let token = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var outputs = [GnuplotScript.Output(.png, "\(directory)/.\(figure.name)\(suffix).png.tmp-\(token)")]
        if svg { outputs.append(GnuplotScript.Output(.svg, "\(directory)/.\(figure.name)\(suffix).svg.tmp-\(token)")) }
        let script = GnuplotScript.make(figure, outputs: outputs)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: gnuplot)
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        defer { for o in outputs { unlink(o.path) } }
        do { try process.run() } catch {
            throw HalfTraceError.inaccessible(figure.name, "cannot start gnuplot (\(error.localizedDescription))")
        }
        input.fileHandleForWriting.write(Data(script.utf8))
        try? input.fileHandleForWriting.close()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let message = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, outputs.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) else {
            throw HalfTraceError.inaccessible(figure.name, "gnuplot failed (status \(process.terminationStatus)): \(message.prefix(400))")
        }
        // Both outputs or neither: a target that cannot be replaced (a directory of that name)
        // is found before the first rename.
        for o in outputs {
            let final = base + "." + o.format.rawValue
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: final, isDirectory: &isDirectory), isDirectory.boolValue {
                throw HalfTraceError.inaccessible(final, "cannot write: a directory of that name is in the way")
            }
        }
        for o in outputs {
            let final = base + "." + o.format.rawValue
            guard rename(o.path, final) == 0 else {
                throw HalfTraceError.inaccessible(final, "cannot write (\(String(cString: strerror(errno))))")
            }
        }
    }

    /// Checks that `directory` exists (creating it) and is writable, before any work is done.
    public static func prepare(directory: String) throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw HalfTraceError.inaccessible(directory, "cannot create the plots directory (\(error.localizedDescription))")
            }
        } else if !isDirectory.boolValue {
            throw HalfTraceError.inaccessible(directory, "exists and is not a directory")
        }
        guard access(directory, W_OK) == 0 else { throw HalfTraceError.inaccessible(directory, "the plots directory is not writable") }
    }
}
