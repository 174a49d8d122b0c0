import Foundation
import MailDrop

#if canImport(Glibc)
    import Glibc
#endif

/// The archive of every message a site has published (`[publish] outbox`), a Maildir: a message is
/// archived into new/ (synced) before the publisher state names its sequence, and moved to cur/ once
/// delivered. It is where resends come from, byte for byte. A file's name is its sequence, so a
/// sequence can never be archived twice with different content (the second link fails).
public struct Outbox: Sendable {
    public let root: String
    public let source: String

    public init(root: String, source: String) {
        self.root = root
        self.source = source
    }

    /// One archived message.
    public struct Item: Sendable, Hashable {
        public var sequence: UInt64
        public var path: String
        public var delivered: Bool
    }

    /// The header in which an archived message records the log position it reaches (outside the
    /// signed part: it is the publisher's bookkeeping, not the receiver's business).
    public static let positionHeader = "X-Bridgehead-Log-Position"

    func name(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits + "." + source + ".bridgehead"
    }

    /// A file in tmp/ for message `sequence`, written in pieces and then `archive`d.
    public func writer(for sequence: UInt64) throws(MailDropError) -> MaildirWriter {
        try MaildirWriter(root: root, name: name(sequence), mode: 0o600)
    }

    /// Archives a written message as not yet delivered (synced into new/). Fails (`.exists`) when its
    /// sequence is archived already; the file is then removed.
    public func archive(_ file: MaildirWriter) throws(MailDropError) {
        if FileManager.default.fileExists(atPath: root + "/cur/" + file.name + ":2,S") {
            file.discard()
            throw MailDropError(.exists, "\(root)/cur/\(file.name):2,S already exists; nothing was replaced")
        }
        try file.commit(folder: "new")
    }

    /// Every archived message of this source, in sequence order.
    public func items() throws(MailDropError) -> [Item] {
        var result: [Item] = []
        for folder in ["new", "cur"] {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: root + "/" + folder)
            } catch {
                if !FileManager.default.fileExists(atPath: root + "/" + folder) { continue }
                throw MailDropError(.unavailable, "cannot list \(root)/\(folder): \(error.localizedDescription)")
            }
            for file in names {
                let parts = file.split(separator: ".", maxSplits: 1)
                guard parts.count == 2, let sequence = UInt64(parts[0]),
                    Maildir.uniqueName(file) == name(sequence)
                else { continue }
                result.append(Item(sequence: sequence, path: root + "/" + folder + "/" + file, delivered: folder == "cur"))
            }
        }
        return result.sorted { $0.sequence < $1.sequence }
    }

    /// Marks a message delivered (new/ → cur/, flag S).
    public func markDelivered(_ item: Item) throws(MailDropError) {
        guard !item.delivered else { return }
        let target = root + "/cur/" + name(item.sequence) + ":2,S"
        guard rename(item.path, target) == 0 else {
            throw MailDropError(.unavailable, "cannot move \(item.path) to \(target): \(String(cString: strerror(errno)))")
        }
        try Maildir.syncDirectory(root + "/cur")
    }

    /// An archived message, to be read a chunk at a time.
    public func source(_ item: Item) -> MessageSource { .file(item.path) }

    /// The log position an archived message records in its header (nil when it records none); only
    /// the start of the file is read.
    public func position(of item: Item) throws(MailDropError) -> String? {
        do {
            guard let start = try source(item).chunks(size: 1 << 16).next() else { return nil }
            return Self.position(in: start)
        } catch {
            throw MailDropError(.vanished, "cannot read \(item.path): \(error)")
        }
    }

    /// The log position an archived message records (nil when it records none).
    public static func position(in message: [UInt8]) -> String? {
        let prefix = Array((positionHeader + ":").lowercased().utf8)
        var start = 0
        while start < message.count {
            var end = start
            while end < message.count, message[end] != 0x0A { end += 1 }
            var line = Array(message[start..<end])
            if line.last == 0x0D { line.removeLast() }
            if line.isEmpty { return nil }
            if line.count > prefix.count, line.prefix(prefix.count).map({ $0 | (($0 >= 0x41 && $0 <= 0x5A) ? 0x20 : 0) }) == prefix {
                return String(decoding: line[prefix.count...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
            start = end + 1
        }
        return nil
    }
}
