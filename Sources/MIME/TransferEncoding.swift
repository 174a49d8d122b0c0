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

    /// Base64 bodies (RFC 2045 §6.8): line breaks and other white space are ignored; any other
    /// character outside the alphabet is an error, not silently dropped.
    static func decodeBase64(_ body: ArraySlice<UInt8>) throws(DecodingError) -> [UInt8] {
        var compact: [UInt8] = []
        compact.reserveCapacity(body.count)
        var offsets: [Int] = []
        for index in body.indices {
            let byte = body[index]
            if byte == 0x0D || byte == 0x0A || byte == 0x20 || byte == 0x09 { continue }
            compact.append(byte)
            offsets.append(index)
        }
        // Some writers leave the padding off; RFC 4648 decoders may accept that.
        while compact.count % 4 != 0, compact.count % 4 != 1 {
            compact.append(UInt8(ascii: "="))
            offsets.append(body.endIndex)
        }
        do {
            return try Base64.decode(compact)
        } catch {
            let at = error.offset < offsets.count ? offsets[error.offset] : body.endIndex
            throw DecodingError(offset: at, reason: "base64: \(error.reason)")
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
                guard index + 2 < end, let high = hex(body[index + 1]), let low = hex(body[index + 2]) else {
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

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
