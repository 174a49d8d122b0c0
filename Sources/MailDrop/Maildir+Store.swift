import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Maildir {
    /// Delivers `bytes` the Maildir way and durably: written into tmp/ (a new file, never an existing
    /// one), synced, linked into `folder` (new/ by default) under `name` (never replacing a file of
    /// that name: `MailDropError.Kind.exists`), and the directory synced, so that once this returns
    /// the message survives a crash. `mode`: others may need to read it (a mail server's user).
    /// Returns the delivered file's path.
    @discardableResult
    public static func deliver(
        _ bytes: [UInt8], to root: String, name: String? = nil, folder: String = "new", mode: mode_t = 0o644
    ) throws(MailDropError) -> String {
        let file = try MaildirWriter(root: root, name: name, mode: mode)
        try file.write(bytes)
        return try file.commit(folder: folder)
    }

    /// fsync(2) of a directory, so that a name just linked into it survives a crash.
    public static func syncDirectory(_ path: String) throws(MailDropError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw MailDropError(.unavailable, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw MailDropError(.unavailable, "cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}

/// A message written into a Maildir in pieces, never held whole: created in tmp/ (a new file, never
/// an existing one), written through a buffer, then `commit` syncs it, links it into a folder under
/// its name (never replacing a file of that name: `.exists`) and syncs the folder. A writer that is
/// not committed removes its file when it goes away: nothing half-written ever reaches new/.
public final class MaildirWriter {
    public let root: String
    public let name: String
    public let temporaryPath: String
    /// Bytes written so far.
    public private(set) var count = 0
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private static let bufferSize = 1 << 18

    public init(root: String, name: String? = nil, mode: mode_t = 0o644) throws(MailDropError) {
        for sub in ["new", "cur", "tmp"] {
            do {
                try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
            } catch {
                throw MailDropError(.unavailable, "cannot create \(root)/\(sub): \(error.localizedDescription)")
            }
        }
        self.root = root
        self.name = name ?? "\(Int(Date().timeIntervalSince1970)).P\(getpid())Q\(UUID().uuidString.prefix(8)).bridgehead"
        temporaryPath = root + "/tmp/" + self.name + ".P\(getpid())"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.failure("cannot create \(temporaryPath)") }
        fchmod(descriptor, mode)
        buffer.reserveCapacity(Self.bufferSize)
    }

    deinit { discard() }

    private static func failure(_ what: String) -> MailDropError { MailDropError(.unavailable, "\(what): \(String(cString: strerror(errno)))") }

    public func write(_ bytes: some Collection<UInt8>) throws(MailDropError) {
        guard descriptor >= 0 else { throw MailDropError(.unavailable, "\(temporaryPath) is closed") }
        buffer.append(contentsOf: bytes)
        count += bytes.count
        if buffer.count >= Self.bufferSize { try flush() }
    }

    private func flush() throws(MailDropError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, buffer.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw Self.failure("cannot write \(temporaryPath)") }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Syncs the file and links it into `folder` under its name; returns the path it now has.
    @discardableResult
    public func commit(folder: String = "new") throws(MailDropError) -> String {
        let final = root + "/" + folder + "/" + name
        do {
            try flush()
        } catch {
            discard()
            throw error
        }
        guard fsync(descriptor) == 0 else {
            let error = Self.failure("cannot write \(temporaryPath)")
            discard()
            throw error
        }
        Glibc.close(descriptor)
        descriptor = -1
        guard link(temporaryPath, final) == 0 else {
            let code = errno
            unlink(temporaryPath)
            if code == EEXIST { throw MailDropError(.exists, "\(final) already exists; nothing was replaced") }
            errno = code
            throw Self.failure("cannot link \(temporaryPath) to \(final)")
        }
        unlink(temporaryPath)
        try Maildir.syncDirectory(root + "/" + folder)
        return final
    }

    /// Closes and removes the file (nothing is delivered).
    public func discard() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }
}
