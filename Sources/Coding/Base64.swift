/// RFC 4648 base64 without line breaks, as LDIF uses it (`BASE64-STRING`).
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let table: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(index) }
        return table
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = iterator.next()
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            out.append(b1 == nil ? UInt8(ascii: "=") : alphabet[Int(((b1 ?? 0) & 0x0F) << 2 | (b2 ?? 0) >> 6)])
            out.append(b2 == nil ? UInt8(ascii: "=") : alphabet[Int((b2 ?? 0) & 0x3F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public struct DecodingError: Error, Sendable, Hashable {
        /// 0-based offset of the offending byte in the input.
        public var offset: Int
        public var reason: String
    }

    /// Strict decoding: only the alphabet, `=` padding at the end, length a multiple of four.
    public static func decode(_ text: some Collection<UInt8>) throws(DecodingError) -> [UInt8] {
        let input = Array(text)
        if let bad = input.firstIndex(where: { table[Int($0)] < 0 && $0 != UInt8(ascii: "=") }) {
            let byte = input[bad]
            let shown = (0x21...0x7E).contains(byte) ? "'\(String(UnicodeScalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
            throw DecodingError(offset: bad, reason: "\(shown) is not a base64 character")
        }
        guard input.count % 4 == 0 else {
            throw DecodingError(offset: input.count, reason: "base64 length \(input.count) is not a multiple of 4")
        }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            var quad: [Int] = []
            var padding = 0
            for offset in index..<(index + 4) {
                let byte = input[offset]
                if byte == UInt8(ascii: "=") {
                    guard offset >= index + 2, index + 4 == input.count else {
                        throw DecodingError(offset: offset, reason: "'=' padding in the middle of base64")
                    }
                    padding += 1
                    quad.append(0)
                } else {
                    guard padding == 0 else { throw DecodingError(offset: offset, reason: "base64 data after '=' padding") }
                    let value = table[Int(byte)]
                    guard value >= 0 else {
                        let shown = (0x21...0x7E).contains(byte) ? "'\(String(UnicodeScalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
                        throw DecodingError(offset: offset, reason: "\(shown) is not a base64 character")
                    }
                    quad.append(Int(value))
                }
            }
            let bits = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3]
            out.append(UInt8(bits >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(bits >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(bits & 0xFF)) }
            index += 4
        }
        return out
    }
}
