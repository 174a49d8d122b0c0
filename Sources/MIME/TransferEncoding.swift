import Coding

/// Content-Transfer-Encoding (RFC 2045 §6).
public enum TransferEncoding: String, Sendable, Hashable {
    case sevenBit = "7bit"
    case eightBit = "8bit"
    case binary
    case base64
    case quotedPrintable = "quoted-printable"

    /// Parses the header value; nil for an encoding RFC 2045 does not define (x-uuencode, …).
    public init?(headerValue: String) {
        let token = headerValue.split(separator: "(").first.map(String.init) ?? headerValue
        self.init(rawValue: token.lowercased().trimmingCharacters(in: " \t\r\n"))
    }

    struct DecodingError: Error {
        var offset: Int
        var reason: String
    }

    func decode(_ body: ArraySlice<UInt8>) throws(DecodingError) -> [UInt8] {
        switch self {
        case .sevenBit, .eightBit:
            // RFC 2045 §2.7, §2.8: such data never holds NUL (only "binary" may).
            if let nul = body.firstIndex(of: 0) { throw DecodingError(offset: nul, reason: "NUL byte in a \(rawValue) body") }
            return Array(body)
        case .binary: return Array(body)
        case .base64: return try Self.decodeBase64(body)
        case .quotedPrintable: return try Self.decodeQuotedPrintable(body)
        }
    }

    /// Base64 bodies (RFC 2045 §6.8): white space ignored, anything else outside the alphabet an error.
    static func decodeBase64(_ body: ArraySlice<UInt8>) throws(DecodingError) -> [UInt8] {
        do {
            return try Base64.decode(body, options: .mime)
        } catch {
            throw DecodingError(offset: body.startIndex + error.offset, reason: "base64: \(error.reason)")
        }
    }

    /// Quoted-printable (RFC 2045 §6.7): `=XX`, soft line breaks, trailing white space dropped.
    static func decodeQuotedPrintable(_ body: ArraySlice<UInt8>) throws(DecodingError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var lineStart = body.startIndex
        while lineStart < body.endIndex {
            let newline = body[lineStart...].firstIndex(of: 0x0A)
            var end = newline ?? body.endIndex
            let crlf = end > lineStart && body[end - 1] == 0x0D
            if crlf { end -= 1 }
            // Rule 3: white space at the end of an encoded line is transport padding.
            while end > lineStart, body[end - 1] == 0x20 || body[end - 1] == 0x09 { end -= 1 }
            var index = lineStart
            var soft = false
            while index < end {
                let byte = body[index]
                guard byte == UInt8(ascii: "=") else {
                    out.append(byte)
                    index += 1
                    continue
                }
                if index + 1 == end {
                    soft = true  // "=" at the end of a line: the line break is not part of the text
                    break
                }
                guard index + 2 < end, let high = Hex.value(body[index + 1]), let low = Hex.value(body[index + 2]) else {
                    throw DecodingError(offset: index, reason: "quoted-printable: '=' must be followed by two hex digits or a line break")
                }
                out.append(high << 4 | low)
                index += 3
            }
            if let newline {
                if !soft { out.append(contentsOf: crlf ? [0x0D, 0x0A] : [0x0A]) }
                lineStart = newline + 1
            } else {
                lineStart = body.endIndex
            }
        }
        return out
    }
}

/// Undoes a transfer encoding a piece at a time, for a body read from a file in pieces. Each piece
/// must end at a line break (the last may end without one); the result is what
/// `MIMEEntity.decodedBody()` gives for the whole body.
public struct TransferDecoder: Sendable {
    public let encoding: TransferEncoding
    /// Base64 characters short of a group of four, carried to the next piece.
    private var pending: [UInt8] = []
    /// Base64 padding was seen: nothing may follow.
    private var padded = false

    public init(_ encoding: TransferEncoding) { self.encoding = encoding }

    /// The next piece decoded; `offset` is where it lies in the message (for errors).
    public mutating func next(_ lines: ArraySlice<UInt8>, at offset: Int) throws(MIMEError) -> [UInt8] {
        do {
            return try decode(lines)
        } catch {
            throw MIMEError(.encoding, offset: offset + error.offset - lines.startIndex, line: 0, reason: error.reason)
        }
    }

    /// What is left at the end of the body.
    public mutating func finish(at offset: Int) throws(MIMEError) -> [UInt8] {
        guard encoding == .base64, !pending.isEmpty else { return [] }
        defer { pending = [] }
        do {
            return try TransferEncoding.decodeBase64(pending[...])
        } catch {
            throw MIMEError(.encoding, offset: offset, line: 0, reason: error.reason)
        }
    }

    private mutating func decode(_ lines: ArraySlice<UInt8>) throws(TransferEncoding.DecodingError) -> [UInt8] {
        guard encoding == .base64 else { return try encoding.decode(lines) }
        var significant = pending
        significant.reserveCapacity(pending.count + lines.count)
        for byte in lines where !(byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A) { significant.append(byte) }
        if padded, !significant.isEmpty {
            throw .init(offset: lines.startIndex, reason: "base64: data after the padding that ends the encoding")
        }
        let whole = significant.count / 4 * 4
        pending = Array(significant[whole...])
        let groups = significant[..<whole]
        if groups.contains(UInt8(ascii: "=")) {
            padded = true
            if !pending.isEmpty { throw .init(offset: lines.startIndex, reason: "base64: data after the padding that ends the encoding") }
        }
        return try TransferEncoding.decodeBase64(groups)
    }
}
