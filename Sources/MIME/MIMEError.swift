/// Why a message could not be decoded, and where (byte offset and line in the message).
public struct MIMEError: Error, Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// The header section is broken.
        case header
        /// Multipart boundaries are missing or wrong.
        case boundary
        /// A transfer encoding (base64, quoted-printable) is broken or unknown.
        case encoding
        /// A charset is unknown, or the text is not valid in it.
        case charset
        /// A named limit (size, depth, part count, line length) was exceeded.
        case limit
        /// The message as a whole is not a message.
        case structure
    }

    public var kind: Kind
    /// 0-based byte offset in the message.
    public var offset: Int
    /// 1-based line in the message.
    public var line: Int
    public var reason: String

    public init(_ kind: Kind, offset: Int, line: Int, reason: String) {
        self.kind = kind
        self.offset = offset
        self.line = line
        self.reason = reason
    }
}

extension MIMEError: CustomStringConvertible {
    public var description: String { "line \(line): \(reason)" }
}
