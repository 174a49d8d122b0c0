import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A Maildir (and its Maildir++ folders) as a drop. Messages are read from `new/` and `cur/`
/// (never `tmp/`, where deliveries are still being written); settling renames a message into
/// `.Processed/cur/` or `.Quarantine/cur/`, which is atomic on one file system. Nothing is deleted.
public struct Maildir: MailDrop {
    public let root: String
    public let processedFolder: String
    public let quarantineFolder: String
    /// For the quarantine view: the Maildir a released message goes back to (its new/).
    let releaseTo: String?

    public init(root: String, processedFolder: String = "Processed", quarantineFolder: String = "Quarantine") {
        self.root = root
        self.processedFolder = processedFolder
        self.quarantineFolder = quarantineFolder
        self.releaseTo = nil
    }

    init(quarantineOf drop: Maildir) {
        self.root = drop.root + "/." + drop.quarantineFolder
        self.processedFolder = drop.processedFolder
        self.quarantineFolder = drop.quarantineFolder
        self.releaseTo = drop.root
    }

    public func quarantine() -> any MailDrop { Maildir(quarantineOf: self) }

    public func list() async throws(MailDropError) -> [MessageReference] {
        // An empty quarantine may not have been created yet.
        if releaseTo != nil, !FileManager.default.fileExists(atPath: root) { return [] }
        var messages: [(reference: MessageReference, time: Double)] = []
        for sub in ["new", "cur"] {
            let directory = root + "/" + sub
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw MailDropError(.configuration, "\(directory) cannot be read: is \(root) a Maildir (with new/, cur/ and tmp/)?")
            }
            for name in names where !name.hasPrefix(".") {
                let path = directory + "/" + name
                var info = stat()
                // A file delivered or moved away while we look is simply not (or no longer) listed.
                guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                let time = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
                let reference = MessageReference(
                    id: Self.uniqueName(name), location: path, received: Date(timeIntervalSince1970: time), size: UInt64(max(info.st_size, 0)))
                messages.append((reference, time))
            }
        }
        return messages.sorted { ($0.time, $0.reference.id) < ($1.time, $1.reference.id) }.map(\.reference)
    }

    public func fetch(_ message: MessageReference) async throws(MailDropError) -> [UInt8] {
        do {
            return try FileBytes.read(message.location)
        } catch .missing {
            throw MailDropError(.vanished, "\(message.location) is gone (moved by another run or by hand?)")
        } catch {
            throw MailDropError(.unavailable, "\(message.location) cannot be read: \(error)")
        }
    }

    public func file(of message: MessageReference) -> String? { message.location }

    public func settle(_ message: MessageReference, as settlement: Settlement) async throws(MailDropError) {
        guard let folder = settlement.folder(processed: processedFolder, quarantine: quarantineFolder) else { return }
        let target: String
        if let releaseTo {
            guard settlement == .processed else { return }
            // Released: back into the drop as a new message, under its own name.
            target = releaseTo + "/new/" + message.id
        } else {
            target = try ensureFolder(folder) + "/cur/" + message.id + ":2,S"
        }
        try Self.move(message.location, to: target)
    }

    /// Moves a file without ever replacing another: link(2) to the new name (which fails when it
    /// exists), then unlink(2) of the old one. When two runs settle the same message at once, the
    /// second finds the name taken by the same file, or the file gone: the message has been moved.
    static func move(_ source: String, to target: String) throws(MailDropError) {
        func gone() -> MailDropError { MailDropError(.vanished, "\(source) is gone (moved by another run or by hand?)") }
        if link(source, target) == 0 {
            _ = unlink(source)
            return
        }
        let code = errno
        switch code {
        case ENOENT: throw gone()
        case EEXIST:
            var old = stat()
            var new = stat()
            guard stat(source, &old) == 0 else { throw gone() }
            if stat(target, &new) == 0, old.st_ino == new.st_ino, old.st_dev == new.st_dev { throw gone() }  // another run, mid-move
            throw MailDropError(.configuration, "\(target) already exists; \(source) was left in place")
        case EPERM, EXDEV, ENOTSUP, EMLINK:
            // A file system without hard links: rename(2), which would replace an existing file, after a check.
            guard !FileManager.default.fileExists(atPath: target) else {
                throw MailDropError(.configuration, "\(target) already exists; \(source) was left in place")
            }
            guard rename(source, target) == 0 else {
                if errno == ENOENT { throw gone() }
                throw MailDropError(.unavailable, "cannot move \(source) to \(target): \(String(cString: strerror(errno)))")
            }
        default:
            throw MailDropError(.unavailable, "cannot move \(source) to \(target): \(String(cString: strerror(code)))")
        }
    }

    /// The Maildir++ folder `.NAME` with its cur/, new/, tmp/ and maildirfolder marker, created when missing.
    func ensureFolder(_ name: String) throws(MailDropError) -> String {
        let folder = root + "/." + name
        do {
            for sub in ["cur", "new", "tmp"] {
                try FileManager.default.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true)
            }
            let marker = folder + "/maildirfolder"
            if !FileManager.default.fileExists(atPath: marker) {
                _ = FileManager.default.createFile(atPath: marker, contents: Data())
            }
        } catch {
            throw MailDropError(.unavailable, "cannot create the folder \(folder): \(error.localizedDescription)")
        }
        return folder
    }

    /// A Maildir file name without its ":2,FLAGS" info part.
    public static func uniqueName(_ fileName: String) -> String {
        fileName.split(separator: ":", maxSplits: 1).first.map(String.init) ?? fileName
    }
}
