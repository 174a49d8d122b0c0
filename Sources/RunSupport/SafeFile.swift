import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Files the agent writes for others to read (the status file, the metrics textfile), written so that
/// nobody else can redirect them: a new file of a random name made exclusively (mkstemp: never an
/// existing file, never through a symbolic link), filled, synced, then renamed over the old one, so
/// a reader never sees half a file and a link planted at the name is replaced, not followed.
public enum SafeFile {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Writes `bytes` to `path` atomically with mode `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent
        try checkDirectory(directory.isEmpty ? "." : directory, for: path)
        var template = Array((directory.isEmpty ? "." : directory).utf8CString.dropLast()) + Array("/.bridgehead.XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw Failure(description: "cannot create a file in \(directory): \(String(cString: strerror(errno)))") }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ok = fchmod(descriptor, mode) == 0
        var offset = 0
        while ok, offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if written <= 0 { ok = false } else { offset += written }
        }
        ok = ok && fsync(descriptor) == 0
        let code = errno
        close(descriptor)
        guard ok, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(ok ? errno : code))
            unlink(temporary)
            throw Failure(description: "cannot write \(path): \(reason)")
        }
    }

    /// Refuses a directory where others could replace what is written: one that another user owns or
    /// that others may write to, unless it is sticky (like /run/lock or /tmp, where nobody can remove
    /// or rename another's file).
    public static func checkDirectory(_ directory: String, for path: String) throws(Failure) {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw Failure(description: "cannot use \(path): \(directory): \(String(cString: strerror(errno)))")
        }
        let sticky = info.st_mode & S_ISVTX != 0
        let writableByOthers = info.st_mode & (S_IWGRP | S_IWOTH) != 0
        if writableByOthers, !sticky {
            throw Failure(
                description: "\(directory) may be written by other users, who could replace \(path); use a directory only the agent's user can write")
        }
        if info.st_uid != geteuid(), info.st_uid != 0, !sticky {
            throw Failure(description: "\(directory) belongs to another user (uid \(info.st_uid)), who could replace \(path)")
        }
    }

    /// A warning when a secret file (a password, a private key) may be read by users other than its owner.
    public static func exposure(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        guard info.st_mode & (S_IRGRP | S_IROTH) != 0 else { return nil }
        return
            "\(path) may be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))); make it readable by its owner only: chmod 600 \(path)"
    }
}
