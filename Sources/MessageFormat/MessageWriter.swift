import Foundation
import LDIF
import SMIME

/// Writes a replication message in pieces, so that one of any size (a `full` message of a large
/// directory) is built without being held: `begin()` gives the outer headers and the signed
/// entity's header, `append(_:)` each record's LDIF, `finish()` the signature. The pieces, put
/// together, are exactly what `ReplicationMessage.compose` returns for the same records.
public struct MessageWriter {
    /// The message's metadata (its `records` are not used: they come through `append`).
    public let message: ReplicationMessage
    private let outerHeader: [UInt8]
    private var signed: SignedEntityWriter?
    private var unsigned = SMIMECanonical()
    private let signingTime: Date
    private let ldif = LDIFWriter()
    /// Records appended so far.
    public private(set) var records = 0

    public init(
        _ message: ReplicationMessage, from: String, to: String, signer: SMIMESigner?, date: Date = Date(), messageID: String? = nil,
        extraHeaders: [(String, String)] = []
    ) throws(ReplicationMessageError) {
        let source = message.source
        let sequence = message.sequence
        let domain = from.split(separator: "@").last.map(String.init) ?? "bridgehead.invalid"
        let number = message.kind == .request ? "request" : String(sequence)
        let id = messageID ?? message.messageID ?? "<bridgehead.\(source).\(number).\(UUID().uuidString.lowercased())@\(domain)>"
        guard ReplicationMessage.isValidMessageID(id) else { throw .invalid("the Message-ID '\(id)' is not of the form <left@right>") }
        guard message.kind == .request ? message.request != nil : (sequence >= 1 && sequence <= ReplicationMessage.maxSequence) else {
            throw .invalid(
                message.kind == .request ? "a request must say what it asks for" : "the sequence must be from 1 to \(ReplicationMessage.maxSequence)")
        }
        for (name, value) in [("From", from), ("To", to)] + extraHeaders where value.contains("\r") || value.contains("\n") {
            throw .invalid("\(name) must be one line")
        }
        for (name, _) in extraHeaders where name.isEmpty || !name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) {
            throw .invalid("'\(name)' is not a header name")
        }
        // The identity goes into the signed part too, where a relay cannot change it.
        var signedPart = message
        signedPart.messageID = id
        signedPart.records = []
        self.message = signedPart
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        outerHeader =
            Array(
                """
                From: \(from)\r
                To: \(to)\r
                Subject: \(Self.subject(message))\r
                Date: \(formatter.string(from: date))\r
                Message-ID: \(id)\r
                MIME-Version: 1.0\r

                """.utf8) + extraHeaders.flatMap { Array("\($0.0): \($0.1)\r\n".utf8) }
        signed = signer.map { SignedEntityWriter(signer: $0) }
        signingTime = date
    }

    static func subject(_ message: ReplicationMessage) -> String {
        if let request = message.request {
            return "Bridgehead request from \(message.source) to \(message.destinations.joined(separator: ", ")): \(request)"
        }
        return "Bridgehead replication \(message.source) #\(message.sequence) (\(message.kind.rawValue))"
    }

    /// The outer headers, the start of the signature's multipart, the entity header and the LDIF
    /// version line.
    public mutating func begin() -> [UInt8] {
        outerHeader + (signed?.header() ?? []) + content(message.entityHeader) + content(ldif.header)
    }

    /// One record's LDIF.
    public mutating func append(_ record: LDIFRecord) -> [UInt8] {
        records += 1
        return content(ldif.render(record))
    }

    /// The end of the message: the signature when it is signed.
    public mutating func finish() throws(ReplicationMessageError) -> [UInt8] {
        guard let signed else { return [] }
        do {
            return try signed.finish(signingTime: signingTime)
        } catch {
            throw .invalid("\(error)")
        }
    }

    /// The next piece of the entity, CRLF line ends (and hashed, when it is signed).
    private mutating func content(_ bytes: [UInt8]) -> [UInt8] {
        if signed != nil { return signed!.content(bytes) }
        return unsigned.next(bytes)
    }
}
