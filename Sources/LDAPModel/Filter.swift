/// A search filter (RFC 4515 string form, RFC 4511 §4.5.1 BER form). Assertion values are bytes;
/// the string form escapes them, so a value can never change the filter's structure.
public indirect enum Filter: Hashable, Sendable {
    case and([Filter])
    case or([Filter])
    case not(Filter)
    case equality(AttributeDescription, [UInt8])
    case substrings(AttributeDescription, initial: [UInt8]?, any: [[UInt8]], final: [UInt8]?)
    case greaterOrEqual(AttributeDescription, [UInt8])
    case lessOrEqual(AttributeDescription, [UInt8])
    case present(AttributeDescription)
    case approximate(AttributeDescription, [UInt8])
    case extensible(attribute: AttributeDescription?, matchingRule: String?, dnAttributes: Bool, value: [UInt8])

    public static func equality(_ attribute: AttributeDescription, _ value: String) -> Filter {
        .equality(attribute, Array(value.utf8))
    }

    /// `(objectClass=*)`
    public static let any = Filter.present("objectClass")

    /// RFC 4515 §3: `*`, `(`, `)`, `\` and NUL become `\HH`; so do control bytes and bytes that are not
    /// valid UTF-8, which keeps the string form printable and unambiguous.
    public static func escape(_ value: [UInt8]) -> String {
        let valid = String(validating: value, as: UTF8.self) != nil
        var out: [UInt8] = []
        let digits = Array("0123456789abcdef".utf8)
        for byte in value {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0..<0x20, 0x7F:
                out.append(contentsOf: [UInt8(ascii: "\\"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            case 0x80... where !valid:
                out.append(contentsOf: [UInt8(ascii: "\\"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            default:
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The BER encoding that goes on the wire (and into an assertion control).
    public var ber: [UInt8] {
        func ava(_ tag: UInt8, _ attribute: AttributeDescription, _ value: [UInt8]) -> [UInt8] {
            BER.sequence([BER.octetString(Array(attribute.description.utf8)), BER.octetString(value)], tag: tag)
        }
        switch self {
        case .and(let filters): return BER.sequence(filters.map(\.ber), tag: 0xA0)
        case .or(let filters): return BER.sequence(filters.map(\.ber), tag: 0xA1)
        case .not(let filter): return BER.tlv(0xA2, filter.ber)
        case .equality(let attribute, let value): return ava(0xA3, attribute, value)
        case .substrings(let attribute, let initial, let any, let final):
            var parts: [[UInt8]] = []
            if let initial { parts.append(BER.octetString(initial, tag: 0x80)) }
            parts += any.map { BER.octetString($0, tag: 0x81) }
            if let final { parts.append(BER.octetString(final, tag: 0x82)) }
            return BER.sequence([BER.octetString(Array(attribute.description.utf8)), BER.sequence(parts)], tag: 0xA4)
        case .greaterOrEqual(let attribute, let value): return ava(0xA5, attribute, value)
        case .lessOrEqual(let attribute, let value): return ava(0xA6, attribute, value)
        case .present(let attribute): return BER.octetString(Array(attribute.description.utf8), tag: 0x87)
        case .approximate(let attribute, let value): return ava(0xA8, attribute, value)
        case .extensible(let attribute, let rule, let dnAttributes, let value):
            var parts: [[UInt8]] = []
            if let rule { parts.append(BER.octetString(Array(rule.utf8), tag: 0x81)) }
            if let attribute { parts.append(BER.octetString(Array(attribute.description.utf8), tag: 0x82)) }
            parts.append(BER.octetString(value, tag: 0x83))
            if dnAttributes { parts.append(BER.boolean(true, tag: 0x84)) }
            return BER.sequence(parts, tag: 0xA9)
        }
    }
}

extension Filter: CustomStringConvertible {
    public var description: String {
        switch self {
        case .and(let filters): "(&" + filters.map(\.description).joined() + ")"
        case .or(let filters): "(|" + filters.map(\.description).joined() + ")"
        case .not(let filter): "(!" + filter.description + ")"
        case .equality(let a, let v): "(\(a)=\(Filter.escape(v)))"
        case .substrings(let a, let initial, let any, let final):
            "(\(a)=" + (initial.map(Filter.escape) ?? "") + "*"
                + any.map { Filter.escape($0) + "*" }.joined() + (final.map(Filter.escape) ?? "") + ")"
        case .greaterOrEqual(let a, let v): "(\(a)>=\(Filter.escape(v)))"
        case .lessOrEqual(let a, let v): "(\(a)<=\(Filter.escape(v)))"
        case .present(let a): "(\(a)=*)"
        case .approximate(let a, let v): "(\(a)~=\(Filter.escape(v)))"
        case .extensible(let a, let rule, let dn, let v):
            "(" + (a?.description ?? "") + (dn ? ":dn" : "") + (rule.map { ":" + $0 } ?? "") + ":=" + Filter.escape(v) + ")"
        }
    }
}

public struct FilterSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "invalid filter at offset \(offset): \(reason)" }
}

extension Filter {
    /// Parses the RFC 4515 string form. A filter without the outer parentheses (`uid=jdoe`) is accepted.
    public init(parsing text: String) throws(FilterSyntaxError) {
        var bytes = Array(text.utf8)
        if bytes.first != UInt8(ascii: "(") { bytes = [UInt8(ascii: "(")] + bytes + [UInt8(ascii: ")")] }
        var parser = FilterParser(bytes: bytes)
        let filter = try parser.filter(depth: 0)
        guard parser.index == bytes.count else { throw FilterSyntaxError(offset: parser.index, reason: "text after the filter") }
        self = filter
    }
}

private struct FilterParser {
    let bytes: [UInt8]
    var index = 0
    static let maxDepth = 64

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    func fail(_ reason: String) -> FilterSyntaxError { FilterSyntaxError(offset: index, reason: reason) }

    mutating func expect(_ byte: UInt8) throws(FilterSyntaxError) {
        guard current == byte else { throw fail("expected '\(String(UnicodeScalar(byte)))'") }
        index += 1
    }

    // filter = LPAREN filtercomp RPAREN
    mutating func filter(depth: Int) throws(FilterSyntaxError) -> Filter {
        guard depth < Self.maxDepth else { throw fail("filter nested deeper than \(Self.maxDepth)") }
        try expect(UInt8(ascii: "("))
        let result: Filter
        switch current {
        case UInt8(ascii: "&"):
            index += 1
            result = .and(try list(depth: depth))
        case UInt8(ascii: "|"):
            index += 1
            result = .or(try list(depth: depth))
        case UInt8(ascii: "!"):
            index += 1
            result = .not(try filter(depth: depth + 1))
        default:
            result = try item()
        }
        try expect(UInt8(ascii: ")"))
        return result
    }

    // filterlist = 1*filter
    mutating func list(depth: Int) throws(FilterSyntaxError) -> [Filter] {
        var filters: [Filter] = []
        while current == UInt8(ascii: "(") { filters.append(try filter(depth: depth + 1)) }
        guard !filters.isEmpty else { throw fail("'&' and '|' need at least one filter") }
        return filters
    }

    // item = simple / present / substring / extensible
    mutating func item() throws(FilterSyntaxError) -> Filter {
        let start = index
        while let byte = current, !"=~<>:()".utf8.contains(byte) { index += 1 }
        let attributeText = String(decoding: bytes[start..<index], as: UTF8.self)
        if current == UInt8(ascii: ":") { return try extensible(attributeText) }
        guard let attribute = AttributeDescription(attributeText) else {
            throw FilterSyntaxError(offset: start, reason: "'\(attributeText)' is not an attribute description")
        }
        switch current {
        case UInt8(ascii: "~"):
            index += 1
            try expect(UInt8(ascii: "="))
            return .approximate(attribute, try value())
        case UInt8(ascii: ">"):
            index += 1
            try expect(UInt8(ascii: "="))
            return .greaterOrEqual(attribute, try value())
        case UInt8(ascii: "<"):
            index += 1
            try expect(UInt8(ascii: "="))
            return .lessOrEqual(attribute, try value())
        case UInt8(ascii: "="):
            index += 1
            return try equalityOrSubstrings(attribute)
        default:
            throw fail("expected a filter type ('=', '~=', '>=', '<=')")
        }
    }

    mutating func equalityOrSubstrings(_ attribute: AttributeDescription) throws(FilterSyntaxError) -> Filter {
        var pieces: [[UInt8]] = [try value()]
        while current == UInt8(ascii: "*") {
            index += 1
            pieces.append(try value())
        }
        if pieces.count == 1 { return .equality(attribute, pieces[0]) }
        if pieces.count == 2, pieces[0].isEmpty, pieces[1].isEmpty { return .present(attribute) }
        let any = pieces.dropFirst().dropLast()
        guard !any.contains(where: \.isEmpty) else { throw fail("'**' in a substring filter") }
        return .substrings(
            attribute, initial: pieces.first!.isEmpty ? nil : pieces.first!, any: Array(any),
            final: pieces.last!.isEmpty ? nil : pieces.last!)
    }

    // extensible = ( attr [dnattrs] [matchingrule] COLON EQUALS assertionvalue )
    //              / ( [dnattrs] matchingrule COLON EQUALS assertionvalue )
    mutating func extensible(_ attributeText: String) throws(FilterSyntaxError) -> Filter {
        let attribute = attributeText.isEmpty ? nil : AttributeDescription(attributeText)
        if !attributeText.isEmpty, attribute == nil { throw fail("'\(attributeText)' is not an attribute description") }
        var dnAttributes = false
        var rule: String?
        while current == UInt8(ascii: ":") {
            index += 1
            if current == UInt8(ascii: "=") {
                index += 1
                guard attribute != nil || rule != nil else { throw fail("an extensible filter needs an attribute or a matching rule") }
                return .extensible(attribute: attribute, matchingRule: rule, dnAttributes: dnAttributes, value: try value())
            }
            let start = index
            while let byte = current, byte != UInt8(ascii: ":"), byte != UInt8(ascii: ")") { index += 1 }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            if word.lowercased() == "dn", rule == nil, !dnAttributes {
                dnAttributes = true
            } else if rule == nil, AttributeDescription.isValidType(word) {
                rule = word
            } else {
                throw FilterSyntaxError(offset: start, reason: "'\(word)' is not a matching rule")
            }
        }
        throw fail("expected ':=' in an extensible filter")
    }

    // assertionvalue = valueencoding ; escaped bytes are \HH
    mutating func value() throws(FilterSyntaxError) -> [UInt8] {
        var out: [UInt8] = []
        while let byte = current, byte != UInt8(ascii: ")"), byte != UInt8(ascii: "*") {
            if byte == UInt8(ascii: "(") { throw fail("'(' must be escaped as \\28 in a value") }
            if byte == UInt8(ascii: "\\") {
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    throw fail("'\\' must be followed by two hex digits")
                }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }
}
