import Foundation

/// An IMAP mailbox as a drop. Messages are listed with UID SEARCH (not those marked \Deleted),
/// fetched with UID FETCH BODY.PEEK[] in batches (so nothing is marked \Seen before it is settled),
/// and settled with UID MOVE (RFC 6851), or COPY + STORE \Deleted + UID EXPUNGE where MOVE is
/// missing; a missing folder is created. A changed UIDVALIDITY makes every earlier reference stale.
/// A dropped connection is opened again once per operation.
public actor IMAPDrop: MailDrop {
    public let settings: IMAPSettings
    public let processedFolder: String
    public let quarantineFolder: String
    private var connection: IMAPConnection?
    private var uidValidity: UInt64?
    private var listed: [UInt64] = []
    /// Where each listed UID stands in `listed`.
    private var position: [UInt64: Int] = [:]
    private var fetched: [UInt64: FetchedMessage] = [:]
    /// RFC822.SIZE of each listed message.
    private var sizes: [UInt64: UInt64] = [:]

    public init(settings: IMAPSettings, processedFolder: String = "Processed", quarantineFolder: String = "Quarantine") {
        self.settings = settings
        self.processedFolder = processedFolder
        self.quarantineFolder = quarantineFolder
    }

    /// The quarantine folder as a drop; settling a message `.processed` moves it back to this mailbox.
    public nonisolated func quarantine() -> any MailDrop {
        var view = settings
        view.mailbox = quarantineFolder
        view.readOnly = false
        return IMAPDrop(settings: view, processedFolder: settings.mailbox, quarantineFolder: quarantineFolder)
    }

    /// Logs out. Later calls log in again.
    public func close() async {
        await connection?.logout()
        connection = nil
    }

    /// The capabilities of the current connection (after a first operation).
    public var capabilities: Set<String> { connection?.capabilities ?? [] }

    public func list() async throws(MailDropError) -> [MessageReference] {
        try await withConnection { connection throws(MailDropError) in
            let outcome = try await connection.command("UID SEARCH UNDELETED")
            var uids: [UInt64] = []
            for response in outcome.untagged where response.values.first?.atom?.uppercased() == "SEARCH" {
                uids += response.values.dropFirst().compactMap(\.number)
            }
            uids.sort()
            listed = uids
            position = Dictionary(uids.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            fetched = fetched.filter { uids.contains($0.key) }
            // When each arrived (how long a held message has waited; which of two sources came first),
            // and how large it is (one too large is never fetched).
            var received: [UInt64: Date] = [:]
            sizes = [:]
            if !uids.isEmpty {
                let listing = try await connection.command("UID FETCH \(Self.sequenceSet(uids)) (UID INTERNALDATE RFC822.SIZE)")
                for response in listing.untagged {
                    guard let item = response.listing else { continue }
                    received[item.uid] = item.date
                    sizes[item.uid] = item.size
                }
            }
            let validity = uidValidity ?? 0
            return uids.map { MessageReference(id: "\(validity)/\($0)", location: settings.mailbox, received: received[$0], size: sizes[$0]) }
        }
    }

    /// The largest message fetched ahead of its turn, with the one asked for.
    static let prefetchSize = 1 << 20

    /// How many messages were fetched ahead and wait for their turn.
    public var heldAhead: Int { fetched.count }

    public func fetch(_ message: MessageReference) async throws(MailDropError) -> [UInt8] {
        try await fetchMessage(message).bytes()
    }

    /// A message of `IMAPFrameDecoder.spoolLiteral` bytes or more comes in the file it was received into.
    public func fetchMessage(_ message: MessageReference) async throws(MailDropError) -> FetchedMessage {
        let (validity, uid) = try parseReference(message)
        if validity == uidValidity, let bytes = fetched.removeValue(forKey: uid) { return bytes }
        return try await withConnection { connection throws(MailDropError) in
            try checkValidity(validity)
            // This message and the next few listed ones, in one command: small ones only (never one
            // the listing said is too large, which is refused unread; nor a large one, which is
            // fetched alone when its turn comes, so that a run never holds several).
            let start = position[uid] ?? listed.endIndex
            let following = listed[start...].dropFirst().filter { (sizes[$0] ?? .max) <= UInt64(min(settings.maxMessageSize, Self.prefetchSize)) }
            let batch = ([uid] + following.prefix(max(settings.fetchBatch, 1) - 1)).filter { fetched[$0] == nil || $0 == uid }
            let outcome = try await connection.command("UID FETCH \(batch.map(String.init).joined(separator: ",")) (UID BODY.PEEK[])")
            for response in outcome.untagged {
                if let item = response.fetched, let fetchedUID = item.uid, let body = item.body { fetched[fetchedUID] = body }
            }
            guard let bytes = fetched.removeValue(forKey: uid) else {
                throw MailDropError(.vanished, "message UID \(uid) is no longer in \(settings.mailbox)")
            }
            return bytes
        }
    }

    public func settle(_ message: MessageReference, as settlement: Settlement) async throws(MailDropError) {
        guard let folder = settlement.folder(processed: processedFolder, quarantine: quarantineFolder) else { return }
        guard !settings.readOnly else { throw MailDropError(.configuration, "\(settings.mailbox) was opened read-only") }
        let (validity, uid) = try parseReference(message)
        fetched[uid] = nil
        try await withConnection { connection throws(MailDropError) in
            try checkValidity(validity)
            var failure: MailDropError?
            do {
                try await move(uid, to: folder, on: connection)
            } catch let error as MailDropError {
                failure = error
            } catch {
                failure = MailDropError(.unavailable, "\(error)")
            }
            guard let failure else { return }
            guard failure.code == "TRYCREATE" else { throw failure }
            try await connection.command("CREATE \(try IMAPConnection.quoted(folder))")
            try await move(uid, to: folder, on: connection)
        }
    }

    private func move(_ uid: UInt64, to folder: String, on connection: IMAPConnection) async throws(MailDropError) {
        let target = try IMAPConnection.quoted(folder)
        if connection.capabilities.contains("MOVE"), !settings.ignoreMove {
            try await connection.command("UID MOVE \(uid) \(target)")
            return
        }
        // RFC 6851 §3.3: what MOVE does, in three steps; the copy comes first, so nothing is lost.
        try await connection.command("UID COPY \(uid) \(target)")
        try await connection.command("UID STORE \(uid) +FLAGS.SILENT (\\Deleted)")
        if connection.capabilities.contains("UIDPLUS") {
            try await connection.command("UID EXPUNGE \(uid)")
        }
        // Without UIDPLUS the message stays, marked \Deleted, and is no longer listed (SEARCH UNDELETED).
    }

    /// Sorted UIDs as an IMAP sequence set: 1:3,7,9:10.
    static func sequenceSet(_ uids: [UInt64]) -> String {
        var parts: [String] = []
        var index = 0
        while index < uids.count {
            var end = index
            while end + 1 < uids.count, uids[end + 1] == uids[end] + 1 { end += 1 }
            parts.append(end == index ? "\(uids[index])" : "\(uids[index]):\(uids[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    private func parseReference(_ message: MessageReference) throws(MailDropError) -> (validity: UInt64, uid: UInt64) {
        let parts = message.id.split(separator: "/")
        guard parts.count == 2, let validity = UInt64(parts[0]), let uid = UInt64(parts[1]) else {
            throw MailDropError(.configuration, "'\(message.id)' is not an IMAP message reference")
        }
        return (validity, uid)
    }

    /// Checked on the connection that will use the UID: after a reconnect the mailbox may have a new
    /// UIDVALIDITY, and then the same number names another message.
    private func checkValidity(_ validity: UInt64) throws(MailDropError) {
        guard validity == uidValidity else {
            throw MailDropError(.vanished, "UIDVALIDITY of \(settings.mailbox) changed (\(validity) → \(uidValidity ?? 0)); list the mailbox again")
        }
    }

    /// Runs `body` on a logged-in connection with the mailbox selected; after a dropped connection,
    /// connects again and runs it once more.
    private func withConnection<T: Sendable>(_ body: (IMAPConnection) async throws(MailDropError) -> T) async throws(MailDropError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try await connected()
            let result: Result<T, MailDropError>
            do {
                result = .success(try await body(connection))
            } catch {
                result = .failure(error)
            }
            if case .failure(let error) = result, error.kind == .unavailable, !connection.isActive, attempt == 1 {
                self.connection = nil
                continue
            }
            return try result.get()
        }
    }

    private func connected() async throws(MailDropError) -> IMAPConnection {
        if let connection, connection.isActive { return connection }
        let connection = try await IMAPConnection.connect(settings)
        let verb = settings.readOnly ? "EXAMINE" : "SELECT"
        let outcome = try await connection.command("\(verb) \(try IMAPConnection.quoted(settings.mailbox))", failure: .configuration)
        var validity: UInt64?
        for response in outcome.untagged where response.codeName == "UIDVALIDITY" {
            validity = response.codeArgument.flatMap { UInt64($0) }
        }
        guard let validity else { throw MailDropError(.refused, "the server gave no UIDVALIDITY for \(settings.mailbox)") }
        if let previous = uidValidity, previous != validity {
            listed = []
            position = [:]
            fetched = [:]
        }
        uidValidity = validity
        self.connection = connection
        return connection
    }
}
