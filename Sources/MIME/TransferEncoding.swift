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
    /// character outside the alphabet is an error, not silently dropped. Decodes in one pass, so a
    /// large attachment costs its decoded size and no more. Missing final padding is tolerated.
    static func decodeBase64(_ body: ArraySlice<UInt8>) throws(DecodingError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count / 4 * 3)
        var quad: UInt32 = 0
        var count = 0
        var padding = 0
        var paddingStart = body.endIndex
        for index in body.indices {
            let byte = body[index]
            if byte == 0x0D || byte == 0x0A || byte == 0x20 || byte == 0x09 { continue }
            if byte == UInt8(ascii: "=") {
                if padding == 0 { paddingStart = index }
                padding += 1
                guard count + padding <= 4, count >= 2 else {
                    throw DecodingError(offset: index, reason: "base64: '=' padding in the wrong place")
                }
                continue
            }
            guard padding == 0 else { throw DecodingError(offset: index, reason: "base64: data after the '=' padding") }
            let value = base64Table[Int(byte)]
            guard value >= 0 else {
                let shown = (0x21...0x7E).contains(byte) ? "'\(String(UnicodeScalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
                throw DecodingError(offset: index, reason: "base64: \(shown) is not a base64 character")
            }
            quad = quad << 6 | UInt32(value)
            count += 1
            if count == 4 {
                out += [UInt8(quad >> 16 & 0xFF), UInt8(quad >> 8 & 0xFF), UInt8(quad & 0xFF)]
                quad = 0
                count = 0
            }
        }
        switch count {
        case 0: break
        case 2: out.append(UInt8(quad >> 4 & 0xFF))
        case 3: out += [UInt8(quad >> 10 & 0xFF), UInt8(quad >> 2 & 0xFF)]
        default: throw DecodingError(offset: paddingStart, reason: "base64: the data ends in the middle of a group")
        }
        return out
    }

    private static let base64Table: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = Int8(index)
        }
        return table
    }()

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
