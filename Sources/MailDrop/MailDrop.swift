import Foundation
import MIME

/// Where replication messages wait: a Maildir or an IMAP mailbox. Every source lists, fetches and
/// settles the same way, and never deletes a message: settling moves it to another folder.
public protocol MailDrop: Sendable {
    /// The messages waiting now, oldest first where the source knows the order.
    func list() async throws(MailDropError) -> [MessageReference]
    /// The message's bytes, exactly as stored.
    func fetch(_ message: MessageReference) async throws(MailDropError) -> [UInt8]
    /// The message exactly as stored: its bytes, or, when the drop received a large one into a file
    /// of its own (IMAP: a message of `IMAPFrameDecoder.spoolLiteral` bytes or more, written to an
    /// unlinked temporary file as it arrives), that file, so that it is never held whole.
    func fetchMessage(_ message: MessageReference) async throws(MailDropError) -> FetchedMessage
    /// Moves the message out of the drop (processed or quarantined) or leaves it where it is.
    func settle(_ message: MessageReference, as settlement: Settlement) async throws(MailDropError)
    /// The quarantine folder seen as a drop of its own: it lists and fetches the quarantined messages,
    /// and settling one as `.processed` releases it back into this drop for another try.
    func quarantine() -> any MailDrop
    /// Ends what the drop holds open (IMAP: LOGOUT and the connection); it may be used again after.
    func close() async
    /// The path of the file that holds the message, when the drop keeps messages as files (a
    /// Maildir): a large message is then read from it in pieces, never held whole. Nil otherwise.
    func file(of message: MessageReference) -> String?
}

extension MailDrop {
    /// A drop that hands out bytes only.
    public func fetchMessage(_ message: MessageReference) async throws(MailDropError) -> FetchedMessage {
        .bytes(try await fetch(message))
    }

    /// A drop that holds nothing open (a Maildir) has nothing to close.
    public func close() async {}
    /// A drop that does not keep messages as files (IMAP) hands out their bytes only.
    public func file(of message: MessageReference) -> String? { nil }
}

/// A message as a drop hands it out: its bytes, or the open file (unlinked: nothing is left behind)
/// that a large one was received into.
public enum FetchedMessage: Sendable, Hashable {
    case bytes([UInt8])
    case file(MessageFile)

    public var count: Int {
        switch self {
        case .bytes(let bytes): bytes.count
        case .file(let file): file.size
        }
    }

    /// Its bytes, read whole from its file if it has one.
    public func bytes() throws(MailDropError) -> [UInt8] {
        switch self {
        case .bytes(let bytes): return bytes
        case .file(let file):
            do {
                return try file.read(0..<file.size)
            } catch {
                throw MailDropError(.unavailable, "the spooled message cannot be read back: \(error.reason)")
            }
        }
    }
}

/// One message in a drop: an identifier stable while it waits, and where it is.
public struct MessageReference: Sendable, Hashable {
    /// Maildir: the file's unique name (before any ":2," flags). IMAP: "UIDVALIDITY/UID".
    public let id: String
    /// Maildir: the file's path. IMAP: the mailbox name.
    public let location: String
    /// When the drop received it (Maildir: the file's time; IMAP: INTERNALDATE), when known.
    public let received: Date?
    /// Its size in bytes as the drop lists it (Maildir: the file's; IMAP: RFC822.SIZE), when known:
    /// a message too large to read is refused before a byte of it is fetched.
    public let size: UInt64?

    public init(id: String, location: String, received: Date? = nil, size: UInt64? = nil) {
        self.id = id
        self.location = location
        self.received = received
        self.size = size
    }
}

/// What becomes of a message after a run looked at it.
public enum Settlement: Sendable, Hashable {
    /// Applied, or a duplicate: moved to the processed folder.
    case processed
    /// Refused (decode, signature, policy): moved to the quarantine folder.
    case quarantined
    /// Held (a sequence gap): stays in the drop for the next run.
    case leftInPlace
}

extension Settlement {
    /// The folder a settled message moves to; nil when it stays where it is.
    public func folder(processed: String, quarantine: String) -> String? {
        switch self {
        case .processed: processed
        case .quarantined: quarantine
        case .leftInPlace: nil
        }
    }
}

/// A drop could not do what was asked.
public struct MailDropError: Error, Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// The message is no longer where it was listed (another run or a person moved it).
        case vanished
        /// The server or the file system could not be reached or refused access: try again later.
        case unavailable
        /// The server refused a command (IMAP NO/BAD), or credentials were wrong.
        case refused
        /// The drop is not set up as expected (missing Maildir, UIDVALIDITY changed, …).
        case configuration
        /// A file of that name is already there (nothing was replaced).
        case exists
    }

    public var kind: Kind
    public var message: String
    /// For a refusal by an IMAP server: its response code (TRYCREATE, AUTHENTICATIONFAILED, …).
    public var code: String?

    public init(_ kind: Kind, _ message: String, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
    }
}

extension MailDropError: CustomStringConvertible {
    public var description: String { message }
}
