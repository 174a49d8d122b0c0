/// RFC 4648 base64 without line breaks, as LDIF uses it (`BASE64-STRING`).
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let table: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(index) }
        return table
    }()
    /// The value of each character already in its place in a group of four (the first shifted by
    /// 18, the second by 12, ...), one table per place, 256 entries each; a character outside the
    /// alphabet has bit 24, so a group of four is one OR of four loads and one test.
    private static let placed: [UInt32] = {
        var placed = [UInt32](repeating: 1 << 24, count: 4 * 256)
        for (index, byte) in alphabet.enumerated() {
            for place in 0..<4 { placed[place * 256 + Int(byte)] = UInt32(index) << (18 - 6 * place) }
        }
        return placed
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: encodedBytes(bytes), as: UTF8.self)
    }

    /// The encoding as ASCII bytes (what a writer of LDIF or MIME appends anyway).
    public static func encodedBytes(_ bytes: some Collection<UInt8>) -> [UInt8] {
        if let out = bytes.withContiguousStorageIfAvailable({ encode(buffer: $0) }) { return out }
        return Array(bytes).withUnsafeBufferPointer { encode(buffer: $0) }
    }

    private static func encode(buffer input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let count = (input.count + 2) / 3 * 4
        return alphabet.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: count) { out, written in
                var index = 0
                var position = 0
                while index + 3 <= input.count {
                    let b0 = input[index]
                    let b1 = input[index + 1]
                    let b2 = input[index + 2]
                    out[position] = table[Int(b0 >> 2)]
                    out[position + 1] = table[Int((b0 & 0x03) << 4 | b1 >> 4)]
                    out[position + 2] = table[Int((b1 & 0x0F) << 2 | b2 >> 6)]
                    out[position + 3] = table[Int(b2 & 0x3F)]
                    index += 3
                    position += 4
                }
                if index < input.count {
                    let b0 = input[index]
                    let b1: UInt8 = index + 1 < input.count ? input[index + 1] : 0
                    out[position] = table[Int(b0 >> 2)]
                    out[position + 1] = table[Int((b0 & 0x03) << 4 | b1 >> 4)]
                    out[position + 2] = index + 1 < input.count ? table[Int((b1 & 0x0F) << 2)] : UInt8(ascii: "=")
                    out[position + 3] = UInt8(ascii: "=")
                    position += 4
                }
                written = position
            }
        }
    }

    public struct DecodingError: Error, Sendable, Hashable {
        /// 0-based offset of the offending byte in the input.
        public var offset: Int
        public var reason: String
    }

    /// How lenient decoding is.
    public struct DecodingOptions: Sendable, Hashable {
        /// Skip line breaks, spaces and tabs (MIME bodies, RFC 2045 §6.8); otherwise they are errors.
        public var ignoresWhitespace: Bool
        /// Accept a final group without its `=` padding.
        public var allowsMissingPadding: Bool

        public init(ignoresWhitespace: Bool, allowsMissingPadding: Bool) {
            self.ignoresWhitespace = ignoresWhitespace
            self.allowsMissingPadding = allowsMissingPadding
        }

        /// LDIF's BASE64-STRING: the alphabet and final padding only, length a multiple of four.
        public static let strict = DecodingOptions(ignoresWhitespace: false, allowsMissingPadding: false)
        /// MIME bodies and encoded words.
        public static let mime = DecodingOptions(ignoresWhitespace: true, allowsMissingPadding: true)
    }

    /// Decodes in one pass, so a large body costs its decoded size and no more. Any character outside
    /// the alphabet (and, when allowed, white space) is an error at its offset, never silently dropped.
    public static func decode(_ text: some Collection<UInt8>, options: DecodingOptions = .strict) throws(DecodingError) -> [UInt8] {
        let result =
            text.withContiguousStorageIfAvailable { decode(buffer: $0, options: options) }
            ?? Array(text).withUnsafeBufferPointer { decode(buffer: $0, options: options) }
        return try result.get()
    }

    /// The decoder proper, over contiguous bytes, writing into one buffer sized up front.
    private static func decode(buffer input: UnsafeBufferPointer<UInt8>, options: DecodingOptions) -> Result<[UInt8], DecodingError> {
        var failure: DecodingError?
        let out = table.withUnsafeBufferPointer { table in
            placed.withUnsafeBufferPointer { placed in
                [UInt8](unsafeUninitializedCapacity: input.count / 4 * 3 + 3) { out, written in
                    var position = 0
                    var quad: UInt32 = 0
                    var count = 0
                    var padding = 0
                    var offset = 0
                    defer { written = position }
                    let bytes = UnsafeMutableRawPointer(out.baseAddress!)
                    while offset < input.count {
                        // Fast path: four alphabet characters at a group boundary make three bytes
                        // (stored as four: the fourth is overwritten by the next group, or is past
                        // what is written; the buffer has three bytes to spare).
                        if count == 0, padding == 0 {
                            while offset + 4 <= input.count {
                                let group =
                                    placed[Int(input[offset])] | placed[256 + Int(input[offset + 1])] | placed[512 + Int(input[offset + 2])]
                                    | placed[768 + Int(input[offset + 3])]
                                guard group < 1 << 24 else { break }
                                bytes.storeBytes(of: (group << 8).bigEndian, toByteOffset: position, as: UInt32.self)
                                position += 3
                                offset += 4
                            }
                            if offset == input.count { break }
                        }
                        let byte = input[offset]
                        if options.ignoresWhitespace, byte == 0x0D || byte == 0x0A || byte == 0x20 || byte == 0x09 {
                            offset += 1
                            continue
                        }
                        if byte == UInt8(ascii: "=") {
                            padding += 1
                            guard count >= 2, count + padding <= 4 else {
                                failure = DecodingError(offset: offset, reason: "'=' padding in the wrong place")
                                return
                            }
                            offset += 1
                            continue
                        }
                        guard padding == 0 else {
                            failure = DecodingError(offset: offset, reason: "data after the '=' padding")
                            return
                        }
                        let value = table[Int(byte)]
                        guard value >= 0 else {
                            let shown = (0x21...0x7E).contains(byte) ? "'\(String(UnicodeScalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
                            failure = DecodingError(offset: offset, reason: "\(shown) is not a base64 character")
                            return
                        }
                        quad = quad << 6 | UInt32(value)
                        count += 1
                        if count == 4 {
                            out[position] = UInt8(quad >> 16 & 0xFF)
                            out[position + 1] = UInt8(quad >> 8 & 0xFF)
                            out[position + 2] = UInt8(quad & 0xFF)
                            position += 3
                            quad = 0
                            count = 0
                        }
                        offset += 1
                    }
                    let end = input.count
                    if count == 1 {
                        failure = DecodingError(offset: end, reason: "the data ends in the middle of a group")
                    } else if count > 1, padding == 0, !options.allowsMissingPadding {
                        failure = DecodingError(offset: end, reason: "base64 length is not a multiple of 4 (the '=' padding is missing)")
                    } else if padding > 0, count + padding != 4 {
                        failure = DecodingError(offset: end, reason: "'=' padding in the wrong place")
                    } else if count == 2 {
                        out[position] = UInt8(quad >> 4 & 0xFF)
                        position += 1
                    } else if count == 3 {
                        out[position] = UInt8(quad >> 10 & 0xFF)
                        out[position + 1] = UInt8(quad >> 2 & 0xFF)
                        position += 2
                    }
                }
            }
        }
        if let failure { return .failure(failure) }
        return .success(out)
    }
}
