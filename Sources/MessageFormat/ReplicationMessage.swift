import Foundation
import LDAPModel
import LDIF
import MIME
import SMIME

/// A replication message in format 1 (docs/message-format.md): the metadata is carried in the MIME
/// headers of the signed entity, so the signature covers it; the body is LDIF.
public struct ReplicationMessage: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Change records, applied in order.
        case delta
        /// Content records: every entry the source owns.
        case full
        /// A receiver asks a source to send again (`Bridgehead-Request`); no records, no sequence.
        case request
    }

    /// What a `request` asks for.
    public enum Request: Sendable, Hashable, CustomStringConvertible {
        /// The archived messages N…M, byte for byte.
        case resend(ClosedRange<UInt64>)
        /// A full message at the source's next sequence.
        case full

        /// `resend N-M` (or `resend N`), `full`.
        public init?(_ text: String) {
            let words = text.split(separator: " ", omittingEmptySubsequences: true)
            if words.count == 1, words[0].lowercased() == "full" {
                self = .full
                return
            }
            guard words.count == 2, words[0].lowercased() == "resend" else { return nil }
            let bounds = words[1].split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), bounds.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("0") && $0.allSatisfy(\.isASCII) }),
                let low = UInt64(bounds[0]), let high = UInt64(bounds[bounds.count - 1]), low >= 1, low <= high,
                high <= ReplicationMessage.maxSequence
            else { return nil }
            self = .resend(low...high)
        }

        public var description: String {
            switch self {
            case .full: "full"
            case .resend(let range): range.count == 1 ? "resend \(range.lowerBound)" : "resend \(range.lowerBound)-\(range.upperBound)"
            }
        }
    }

    public var source: String
    public var sequence: UInt64
    public var kind: Kind
    public var records: [LDIFRecord]
    /// The message's identity as its source signed it (`Bridgehead-Message-ID`); nil when it carries
    /// none (then `identity` derives one from source and sequence). The outer Message-ID is for
    /// routing only: a relay may rewrite it, and nothing signs it.
    public var messageID: String?
    /// The receivers it is meant for (`Bridgehead-Destination`, their `[agent] id`s); empty: any.
    public var destinations: [String]
    /// What a `request` asks for (nil for delta and full messages).
    public var request: Request?

    public init(
        source: String, sequence: UInt64, kind: Kind, records: [LDIFRecord], messageID: String? = nil, destinations: [String] = []
    ) {
        self.source = source
        self.sequence = sequence
        self.kind = kind
        self.records = records
        self.messageID = messageID
        self.destinations = destinations
    }

    /// A request from receiver `requester` to the source `source` (its `Bridgehead-Destination`).
    public static func request(_ request: Request, from requester: String, to source: String, messageID: String? = nil) -> ReplicationMessage {
        var message = ReplicationMessage(source: requester, sequence: 0, kind: .request, records: [], messageID: messageID, destinations: [source])
        message.request = request
        return message
    }

    public static let format = "1"

    /// The largest sequence number (2^53 − 1: exact in JSON, and far from overflowing any arithmetic on it).
    public static let maxSequence: UInt64 = (1 << 53) - 1

    /// The identity the agent records for this message: the signed Bridgehead-Message-ID, or one derived
    /// from source and sequence.
    public var identity: String { messageID ?? "<\(sequence).\(source)@bridgehead.invalid>" }

    /// msg-id as RFC 5322 §3.6.4 writes it, restricted to printable ASCII without spaces: `<left@right>`.
    public static func isValidMessageID(_ text: String) -> Bool {
        text.utf8.count <= 250 && text.first == "<" && text.last == ">" && text.contains("@")
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// source id: [a-z0-9._-]+
    public static func isValidSource(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64
            && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    /// Reads the metadata and LDIF of a (verified) signed entity.
    public init(entity: MIMEEntity) throws(ReplicationMessageError) {
        self = try Self.metadata(of: entity)
        let body: [UInt8]
        do {
            body = try entity.decodedBody()
        } catch {
            throw .invalid("the LDIF body does not decode: \(error.reason)")
        }
        do {
            records = try LDIFReader.records(in: body)
        } catch {
            throw .invalid("LDIF body, \(error)")
        }
        for (index, record) in records.enumerated() { try check(record, number: index + 1) }
    }

    /// The metadata of a (verified) signed entity, from its header alone (no records): what
    /// `init(entity:)` checks before it reads the body.
    public static func metadata(of entity: MIMEEntity) throws(ReplicationMessageError) -> ReplicationMessage {
        let header = entity.header
        guard entity.contentType.mimeType == "application/ldif" else {
            throw .invalid("the signed part is \(entity.contentType.mimeType), not application/ldif")
        }
        guard let format = header["Bridgehead-Format"]?.trimmingCharacters(in: .whitespaces) else {
            throw .invalid("the signed part has no Bridgehead-Format header")
        }
        guard format == Self.format else { throw .invalid("Bridgehead-Format \(format) is not supported (this agent reads format 1)") }
        guard let source = header["Bridgehead-Source"]?.trimmingCharacters(in: .whitespaces), Self.isValidSource(source) else {
            throw .invalid("Bridgehead-Source is missing or not of the form [a-z0-9._-]+")
        }
        guard let kindText = header["Bridgehead-Kind"]?.trimmingCharacters(in: .whitespaces),
            let kind = Kind(rawValue: kindText.lowercased())
        else {
            throw .invalid("Bridgehead-Kind is missing or not delta, full or request")
        }
        var sequence: UInt64 = 0
        var request: Request?
        if kind == .request {
            // A request has no sequence of its own; it says what it asks for, and of whom.
            guard let text = header["Bridgehead-Request"]?.trimmingCharacters(in: .whitespaces), let asked = Request(text) else {
                throw .invalid("Bridgehead-Request is missing or not 'resend N-M' or 'full'")
            }
            request = asked
        } else {
            guard let text = header["Bridgehead-Sequence"]?.trimmingCharacters(in: .whitespaces), let number = UInt64(text), number > 0,
                text.first != "0", number <= Self.maxSequence
            else {
                throw .invalid("Bridgehead-Sequence is missing or not a whole number from 1 to \(Self.maxSequence)")
            }
            sequence = number
        }
        var messageID: String?
        if let text = header["Bridgehead-Message-ID"]?.trimmingCharacters(in: .whitespaces) {
            guard Self.isValidMessageID(text) else { throw .invalid("Bridgehead-Message-ID is not of the form <left@right> (printable ASCII)") }
            messageID = text
        }
        var destinations: [String] = []
        if let text = header["Bridgehead-Destination"] {
            destinations = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
            guard !destinations.isEmpty, destinations.allSatisfy(Self.isValidSource) else {
                throw .invalid("Bridgehead-Destination must list receiver ids of the form [a-z0-9._-]+, separated by commas")
            }
        }
        if kind == .request, destinations.count != 1 {
            throw .invalid("a request names the one source it asks in Bridgehead-Destination")
        }
        if let charset = entity.contentType.charset, !["utf-8", "us-ascii"].contains(charset.lowercased()) {
            throw .invalid("the LDIF body is in \(charset); format 1 requires utf-8")
        }
        var message = ReplicationMessage(
            source: source, sequence: sequence, kind: kind, records: [], messageID: messageID, destinations: destinations)
        message.request = request
        return message
    }

    /// Whether record `number` (1-based) may be in a message of this kind.
    public func check(_ record: LDIFRecord, number: Int) throws(ReplicationMessageError) {
        switch (kind, record) {
        case (.delta, .content): throw .invalid("record \(number) is a content record in a delta message")
        case (.full, .change): throw .invalid("record \(number) is a change record in a full message")
        case (.request, _): throw .invalid("a request carries no records")
        default: return
        }
    }

    /// The header of the entity that gets signed: the Bridgehead headers, CRLF line ends, and the
    /// blank line that ends it.
    public var entityHeader: [UInt8] {
        var text = """
            Content-Type: application/ldif; charset=utf-8\r
            Content-Transfer-Encoding: 7bit\r
            Bridgehead-Format: \(Self.format)\r
            Bridgehead-Source: \(source)\r

            """
        text += request.map { "Bridgehead-Request: \($0)\r\n" } ?? "Bridgehead-Sequence: \(sequence)\r\n"
        text += "Bridgehead-Kind: \(kind.rawValue)\r\n"
        if let messageID { text += "Bridgehead-Message-ID: \(messageID)\r\n" }
        if !destinations.isEmpty { text += "Bridgehead-Destination: \(destinations.joined(separator: ", "))\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// The entity that gets signed: the Bridgehead headers and the LDIF, CRLF line ends.
    public var entity: [UInt8] {
        // LDIFWriter writes ASCII only (base64 for the rest), so 7bit holds.
        entityHeader + SMIMECanonical.crlf(LDIFWriter().render(records))
    }

    /// A whole message: outer headers for people and routing (and `extraHeaders`, unsigned: the
    /// sender's own bookkeeping), then the entity, signed when a signer is given.
    public func compose(
        from: String, to: String, signer: SMIMESigner?, date: Date = Date(), messageID: String? = nil, extraHeaders: [(String, String)] = []
    )
        throws(ReplicationMessageError) -> [UInt8]
    {
        var writer = try MessageWriter(self, from: from, to: to, signer: signer, date: date, messageID: messageID, extraHeaders: extraHeaders)
        var out = writer.begin()
        for record in records { out += writer.append(record) }
        out += try writer.finish()
        return out
    }
}

public enum ReplicationMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): "not a valid replication message: \(reason)"
        }
    }
}
