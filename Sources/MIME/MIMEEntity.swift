/// The bytes of one message, shared by all its entities, which refer to them by range.
final class MIMEStorage: Sendable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// 1-based line of a byte offset.
    func line(at offset: Int) -> Int {
        var line = 1
        for byte in bytes[..<min(offset, bytes.count)] where byte == 0x0A { line += 1 }
        return line
    }

    func error(_ kind: MIMEError.Kind, at offset: Int, _ reason: String) -> MIMEError {
        MIMEError(kind, offset: offset, line: line(at: offset), reason: reason)
    }
}

/// One MIME entity: a header section and a body, and for a multipart its parts. The message's bytes
/// are kept once; an entity knows its range in them, so `bytes` is exactly what was received (what an
/// S/MIME signature covers).
public struct MIMEEntity: Sendable {
    let storage: MIMEStorage
    /// The whole entity, header and body, in the message.
    public let range: Range<Int>
    public let bodyRange: Range<Int>
    public let header: MIMEHeader
    public let contentType: ContentType
    public let transferEncoding: TransferEncoding
    /// The parts of a multipart, in order; empty otherwise.
    public let parts: [MIMEEntity]
    /// Text before the first and after the last boundary of a multipart.
    public let preambleRange: Range<Int>?
    public let epilogueRange: Range<Int>?
    /// True when a multipart ended without its close delimiter (`--boundary--`); the last part then
    /// runs to the end of its container.
    public let isMissingCloseDelimiter: Bool

    /// The entity exactly as it appears in the message.
    public var bytes: ArraySlice<UInt8> { storage.bytes[range] }

    /// The body as it appears in the message (still transfer-encoded).
    public var body: ArraySlice<UInt8> { storage.bytes[bodyRange] }

    public var isMultipart: Bool { contentType.isMultipart }

    /// The non-multipart entities below (and including) this one, depth first. An attached message
    /// (message/rfc822) is a leaf: `encapsulatedMessage()` opens it.
    public var leaves: [MIMEEntity] { isMultipart ? parts.flatMap(\.leaves) : [self] }

    /// How deep multiparts nest below this entity: 0 for a leaf.
    public var depth: Int { isMultipart ? 1 + (parts.map(\.depth).max() ?? 0) : 0 }

    /// The file name: Content-Disposition's `filename`, else Content-Type's `name` (RFC 2231 decoded).
    public var filename: String? {
        if let disposition = header["Content-Disposition"], let name = ContentType.split(disposition).parameters["filename"] {
            return name
        }
        return contentType.parameters["name"]
    }

    /// The body with its transfer encoding undone.
    public func decodedBody() throws(MIMEError) -> [UInt8] {
        do {
            return try transferEncoding.decode(body)
        } catch {
            throw storage.error(.encoding, at: error.offset, error.reason)
        }
    }

    /// The body as text, in its declared charset (us-ascii when none is declared, RFC 2045 §5.2).
    public func text() throws(MIMEError) -> String {
        let charset = contentType.charset ?? "us-ascii"
        let decoded = try decodedBody()
        let text: String?
        do {
            text = try Charset.decode(decoded, charset: charset)
        } catch {
            throw storage.error(.charset, at: bodyRange.lowerBound, "the text is not valid \(error.charset)")
        }
        guard let text else {
            throw storage.error(
                .charset, at: range.lowerBound,
                "charset '\(charset)' is not supported (supported: \(Charset.supported.joined(separator: ", ")))")
        }
        return text
    }

    /// The message inside a message/rfc822 entity.
    public func encapsulatedMessage(limits: MIMELimits = .default) throws(MIMEError) -> MIMEEntity {
        guard contentType.mimeType == "message/rfc822" else {
            throw storage.error(.structure, at: range.lowerBound, "\(contentType.mimeType) is not an attached message")
        }
        return try MIMEParser.parse(try decodedBody(), limits: limits)
    }
}
