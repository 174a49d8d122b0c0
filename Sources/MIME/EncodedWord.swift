import Coding

/// RFC 2047 encoded words in header text: `=?charset?B|Q?text?=`.
enum EncodedWord {
    /// Decodes every encoded word in `text`; white space between two adjacent encoded words is dropped
    /// (RFC 2047 §6.2). A word in an unknown charset, or one that does not decode, stays as written.
    static func decode(_ text: String) -> String {
        guard text.contains("=?") else { return text }
        var result = ""
        var pendingSpace = ""
        var previousWasEncoded = false
        var rest = Substring(text)
        while !rest.isEmpty {
            if rest.hasPrefix("=?"), let (decoded, length) = decodeWord(rest) {
                if !previousWasEncoded { result += pendingSpace }
                pendingSpace = ""
                result += decoded
                previousWasEncoded = true
                rest = rest.dropFirst(length)
                continue
            }
            let character = rest.removeFirst()
            if character == " " || character == "\t" {
                pendingSpace.append(character)
            } else {
                result += pendingSpace
                pendingSpace = ""
                result.append(character)
                previousWasEncoded = false
            }
        }
        return result + pendingSpace
    }

    // encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
    private static func decodeWord(_ text: Substring) -> (String, Int)? {
        let parts = text.dropFirst(2).split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[3].hasPrefix("="), parts[2].allSatisfy({ $0 != " " && $0 != "\t" }) else { return nil }
        // charset may carry an RFC 2231 language: "UTF-8*en"
        let charset = String(parts[0].split(separator: "*").first ?? "")
        let encoded = Array(parts[2].utf8)
        let bytes: [UInt8]
        switch parts[1].uppercased() {
        case "B":
            guard let decoded = try? Base64.decode(encoded, options: .mime) else { return nil }
            bytes = decoded
        case "Q":
            var decoded: [UInt8] = []
            var index = 0
            while index < encoded.count {
                let byte = encoded[index]
                if byte == UInt8(ascii: "_") {
                    decoded.append(0x20)
                    index += 1
                } else if byte == UInt8(ascii: "="), index + 2 < encoded.count,
                    let high = Hex.value(encoded[index + 1]), let low = Hex.value(encoded[index + 2])
                {
                    decoded.append(high << 4 | low)
                    index += 3
                } else {
                    decoded.append(byte)
                    index += 1
                }
            }
            bytes = decoded
        default:
            return nil
        }
        guard let decoded = try? Charset.decode(bytes, charset: charset) else { return nil }
        let length = 2 + parts[0].count + 1 + parts[1].count + 1 + parts[2].count + 2
        return (decoded, length)
    }
}
