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
    }

    public var source: String
    public var sequence: UInt64
    public var kind: Kind
    public var records: [LDIFRecord]

    public init(source: String, sequence: UInt64, kind: Kind, records: [LDIFRecord]) {
        self.source = source
        self.sequence = sequence
        self.kind = kind
        self.records = records
    }

    public static let format = "1"

    /// source id: [a-z0-9._-]+
    public static func isValidSource(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64
            && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    /// Reads the metadata and LDIF of a (verified) signed entity.
    public init(entity: MIMEEntity) throws(ReplicationMessageError) {
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
        guard let text = header["Bridgehead-Sequence"]?.trimmingCharacters(in: .whitespaces), let sequence = UInt64(text), sequence > 0,
            text.first != "0"
        else {
            throw .invalid("Bridgehead-Sequence is missing or not a positive whole number")
        }
        guard let kindText = header["Bridgehead-Kind"]?.trimmingCharacters(in: .whitespaces),
            let kind = Kind(rawValue: kindText.lowercased())
        else {
            throw .invalid("Bridgehead-Kind is missing or not delta or full")
        }
        if let charset = entity.contentType.charset, !["utf-8", "us-ascii"].contains(charset.lowercased()) {
            throw .invalid("the LDIF body is in \(charset); format 1 requires utf-8")
        }
        let body: [UInt8]
        do {
            body = try entity.decodedBody()
        } catch {
            throw .invalid("the LDIF body does not decode: \(error.reason)")
        }
        let records: [LDIFRecord]
        do {
            records = try LDIFReader.records(in: body)
        } catch {
            throw .invalid("LDIF body, \(error)")
        }
        for (index, record) in records.enumerated() {
            switch (kind, record) {
            case (.delta, .content): throw .invalid("record \(index + 1) is a content record in a delta message")
            case (.full, .change): throw .invalid("record \(index + 1) is a change record in a full message")
            default: continue
            }
        }
        self.init(source: source, sequence: sequence, kind: kind, records: records)
    }

    /// The entity that gets signed: the Bridgehead headers and the LDIF, CRLF line ends.
    public var entity: [UInt8] {
        let out = Array(
            """
            Content-Type: application/ldif; charset=utf-8\r
            Content-Transfer-Encoding: 7bit\r
            Bridgehead-Format: \(Self.format)\r
            Bridgehead-Source: \(source)\r
            Bridgehead-Sequence: \(sequence)\r
            Bridgehead-Kind: \(kind.rawValue)\r
            \r

            """.utf8)
        // LDIFWriter writes ASCII only (base64 for the rest), so 7bit holds.
        return out + SMIMECanonical.crlf(LDIFWriter().render(records))
    }

    /// A whole message: outer headers for people and routing, then the entity, signed when a signer is given.
    public func compose(
        from: String, to: String, signer: SMIMESigner?, date: Date = Date(), messageID: String? = nil
    )
        throws(ReplicationMessageError) -> [UInt8]
    {
        let domain = from.split(separator: "@").last.map(String.init) ?? "bridgehead.invalid"
        let id = messageID ?? "<bridgehead.\(source).\(sequence).\(UUID().uuidString.lowercased())@\(domain)>"
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        for (name, value) in [("From", from), ("To", to)] where value.contains("\r") || value.contains("\n") {
            throw .invalid("\(name) must be one line")
        }
        var out = Array(
            """
            From: \(from)\r
            To: \(to)\r
            Subject: Bridgehead replication \(source) #\(sequence) (\(kind.rawValue))\r
            Date: \(formatter.string(from: date))\r
            Message-ID: \(id)\r
            MIME-Version: 1.0\r

            """.utf8)
        if let signer {
            do {
                out += try signer.sign(entity, signingTime: date)
            } catch {
                throw .invalid("\(error)")
            }
        } else {
            out += entity
        }
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
