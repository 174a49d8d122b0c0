import Coding

/// A parameterised header value: `type/subtype; name=value` (Content-Type, RFC 2045 §5.1) or
/// `disposition; name=value` (Content-Disposition, RFC 2183), with RFC 2231 parameters decoded.
public struct ContentType: Sendable, Hashable {
    /// Lower-cased, e.g. "multipart".
    public var type: String
    /// Lower-cased, e.g. "signed".
    public var subtype: String
    /// Parameter names lower-cased; values unquoted and RFC 2231-decoded.
    public var parameters: [String: String]

    public init(type: String, subtype: String, parameters: [String: String] = [:]) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    public var mimeType: String { "\(type)/\(subtype)" }
    public var isMultipart: Bool { type == "multipart" }
    public var charset: String? { parameters["charset"] }
    public var boundary: String? { parameters["boundary"] }

    /// text/plain; charset=us-ascii (RFC 2045 §5.2).
    public static let defaultType = ContentType(type: "text", subtype: "plain", parameters: ["charset": "us-ascii"])
    /// The default inside multipart/digest (RFC 2046 §5.1.5).
    public static let digestDefault = ContentType(type: "message", subtype: "rfc822")

    // content := type "/" subtype *(";" parameter)
    /// Parses a Content-Type value; nil when it has no `type/subtype`.
    public init?(headerValue: String) {
        let (value, parameters) = Self.split(headerValue)
        let pieces = value.split(separator: "/", maxSplits: 1).map { String($0).trimmingCharacters(in: " \t").lowercased() }
        guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty,
            pieces.allSatisfy({ $0.utf8.allSatisfy(isTokenByte) })
        else { return nil }
        self.init(type: pieces[0], subtype: pieces[1], parameters: parameters)
    }

    /// The value before the first ';' (comments removed, lower-cased) and the parameters after it.
    /// Used for Content-Disposition too.
    public static func split(_ headerValue: String) -> (value: String, parameters: [String: String]) {
        var scanner = ParameterScanner(Array(headerValue.utf8))
        let value = scanner.value()
        return (value.lowercased(), scanner.parameters())
    }
}

// token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
func isTokenByte(_ byte: UInt8) -> Bool {
    byte > 0x20 && byte < 0x7F && !"()<>@,;:\\\"/[]?=".utf8.contains(byte)
}

/// Scans `value *( ";" attribute "=" value )` with quoted strings and comments, and joins RFC 2231
/// continuations (`name*0*=…; name*1*=…`) and charset/language-tagged values (`name*=utf-8'en'%E2%82%AC`).
struct ParameterScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpaceAndComments() {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A {
                index += 1
            } else if byte == UInt8(ascii: "(") {
                var depth = 0
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "\\") {
                        index = min(index + 2, bytes.count)  // a quoted-pair, possibly cut off at the end
                        continue
                    }
                    if bytes[index] == UInt8(ascii: "(") { depth += 1 }
                    if bytes[index] == UInt8(ascii: ")") { depth -= 1 }
                    index += 1
                    if depth == 0 { break }
                }
            } else {
                return
            }
        }
    }

    /// The leading value (up to ';'), comments removed.
    mutating func value() -> String {
        var out: [UInt8] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: ";") {
            if bytes[index] == UInt8(ascii: "(") {
                skipSpaceAndComments()
                continue
            }
            if bytes[index] != 0x20, bytes[index] != 0x09 { out.append(bytes[index]) }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    // quoted-string = DQUOTE *(qtext / quoted-pair) DQUOTE
    mutating func quotedString() -> [UInt8] {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count { index += 1 }
            out.append(bytes[index])
            index += 1
        }
        index += 1
        return out
    }

    mutating func parameters() -> [String: String] {
        var plain: [String: String] = [:]
        // RFC 2231 pieces: name -> [(section, encoded, value)]
        var sections: [String: [(Int, Bool, [UInt8])]] = [:]
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: ";") else {
                index += 1
                continue
            }
            index += 1
            skipSpaceAndComments()
            let nameStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: ";") { index += 1 }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self).trimmingCharacters(in: " \t").lowercased()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "="), !name.isEmpty else { continue }
            index += 1
            skipSpaceAndComments()
            var value: [UInt8]
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                value = quotedString()
            } else {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: ";"), bytes[index] != 0x20, bytes[index] != 0x09,
                    bytes[index] != UInt8(ascii: "(")
                {
                    index += 1
                }
                value = Array(bytes[start..<index])
            }
            skipSpaceAndComments()
            // name*  |  name*N  |  name*N*
            if let star = name.firstIndex(of: "*") {
                let base = String(name[..<star])
                let rest = name[name.index(after: star)...]
                let encoded = rest.hasSuffix("*") || rest.isEmpty
                let number = Int(rest.hasSuffix("*") ? rest.dropLast() : rest) ?? 0
                sections[base, default: []].append((number, encoded, value))
            } else if plain[name] == nil {
                plain[name] = String(validating: value, as: UTF8.self) ?? String(String.UnicodeScalarView(value.map { Unicode.Scalar($0) }))
            }
        }
        for (name, pieces) in sections {
            let ordered = pieces.sorted { $0.0 < $1.0 }
            var charset: String?
            var joined: [UInt8] = []
            for (position, piece) in ordered.enumerated() {
                var value = piece.2
                if piece.1 {
                    if position == 0 {
                        // charset "'" [language] "'" value-chars
                        let quotes = value.indices.filter { value[$0] == UInt8(ascii: "'") }
                        if quotes.count >= 2 {
                            charset = String(decoding: value[..<quotes[0]], as: UTF8.self)
                            value = Array(value[(quotes[1] + 1)...])
                        }
                    }
                    value = Self.percentDecode(value)
                }
                joined += value
            }
            let decoded = (try? Charset.decode(joined, charset: charset ?? "utf-8")) ?? nil
            plain[name] = decoded ?? String(decoding: joined, as: UTF8.self)
        }
        return plain
    }

    static func percentDecode(_ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < value.count {
            if value[index] == UInt8(ascii: "%"), index + 2 < value.count,
                let high = Hex.value(value[index + 1]), let low = Hex.value(value[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(value[index])
                index += 1
            }
        }
        return out
    }
}
