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
        for sub in ["new", "cur", "tmp"] {
            do {
                try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
            } catch {
                throw MailDropError(.unavailable, "cannot create \(root)/\(sub): \(error.localizedDescription)")
            }
        }
        let unique = name ?? "\(Int(Date().timeIntervalSince1970)).P\(getpid())Q\(UUID().uuidString.prefix(8)).bridgehead"
        let temporary = root + "/tmp/" + unique + ".P\(getpid())"
        let final = root + "/" + folder + "/" + unique
        func failure(_ what: String) -> MailDropError { MailDropError(.unavailable, "\(what): \(String(cString: strerror(errno)))") }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("cannot create \(temporary)") }
        fchmod(descriptor, mode)
        var offset = 0
        var ok = true
        while ok, offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if written <= 0 { ok = false } else { offset += written }
        }
        ok = ok && fsync(descriptor) == 0
        let error = failure("cannot write \(temporary)")
        Glibc.close(descriptor)
        guard ok else {
            unlink(temporary)
            throw error
        }
        guard link(temporary, final) == 0 else {
            let code = errno
            unlink(temporary)
            if code == EEXIST { throw MailDropError(.exists, "\(final) already exists; nothing was replaced") }
            errno = code
            throw failure("cannot link \(temporary) to \(final)")
        }
        unlink(temporary)
        try syncDirectory(root + "/" + folder)
        return final
    }

    /// fsync(2) of a directory, so that a name just linked into it survives a crash.
    public static func syncDirectory(_ path: String) throws(MailDropError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw MailDropError(.unavailable, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw MailDropError(.unavailable, "cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}
