import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One run at a time: an exclusive, non-blocking flock(2) on the lock file, held until `release()`
/// or the process ends (the kernel drops it even after SIGKILL, so a crashed run never blocks cron).
public final class RunLock: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32

    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// Another run holds it (exit 75, try again later).
        case held(String)
        /// The file cannot be created or opened (a configuration problem).
        case unusable(String)

        public var description: String {
            switch self {
            case .held(let path): "another bridgehead run holds \(path); this one stops (it will run again)"
            case .unusable(let reason): reason
            }
        }
    }

    /// Takes the lock at once or fails; never waits.
    /// The file is opened without following a symbolic link, must be a regular file of this user, and
    /// its directory must not let others replace it (`SafeFile.checkDirectory`).
    public init(path: String) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        do {
            try SafeFile.checkDirectory(directory.isEmpty ? "." : directory, for: path)
        } catch {
            throw .unusable("the lock file \(path): \(error)")
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
            throw .unusable("cannot open the lock file \(path): \(reason)")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else {
            close(descriptor)
            throw .unusable("the lock file \(path) is not a regular file of this user (uid \(geteuid())); remove it or set [agent] lock_file")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK { throw .held(path) }
            throw .unusable("cannot lock \(path): \(String(cString: strerror(code)))")
        }
        // Who holds it, for a person looking.
        _ = ftruncate(descriptor, 0)
        let note = "\(getpid())\n"
        _ = note.withCString { write(descriptor, $0, strlen($0)) }
        self.path = path
        self.descriptor = descriptor
    }

    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
