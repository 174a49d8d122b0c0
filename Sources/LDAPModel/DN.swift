import Coding

/// A distinguished name (RFC 4514): a sequence of RDNs, the leftmost (most specific) first.
///
/// Values are bytes, so a DN survives values that are not UTF-8. Equality of the struct is exact;
/// use `normalized` (or `matches(_:)`) for the case-insensitive comparison a directory makes.
public struct DN: Hashable, Sendable {
    public var rdns: [RDN]

    public init(rdns: [RDN]) { self.rdns = rdns }

    /// The empty DN (the root DSE).
    public static let root = DN(rdns: [])

    public var isRoot: Bool { rdns.isEmpty }

    /// The leftmost RDN, nil for the root.
    public var rdn: RDN? { rdns.first }

    /// The DN one level up; nil for the root.
    public var parent: DN? { rdns.isEmpty ? nil : DN(rdns: Array(rdns.dropFirst())) }

    /// `rdn` placed below `self`.
    public func child(_ rdn: RDN) -> DN { DN(rdns: [rdn] + rdns) }

    /// True when `self` equals `ancestor` or lies below it (compared normalised).
    public func isWithin(_ ancestor: DN) -> Bool {
        guard ancestor.rdns.count <= rdns.count else { return false }
        // Identical RDNs (the common case) need no normalising.
        return zip(rdns.suffix(ancestor.rdns.count), ancestor.rdns).allSatisfy { $0 == $1 || $0.normalized == $1.normalized }
    }

    /// `self` with the suffix `old` replaced by `new`; nil when `self` is not within `old`.
    public func replacingSuffix(_ old: DN, with new: DN) -> DN? {
        guard isWithin(old) else { return nil }
        return DN(rdns: Array(rdns.prefix(rdns.count - old.rdns.count)) + new.rdns)
    }

    /// A comparison key: attribute types lower-cased, values case-folded with runs of spaces
    /// collapsed, as caseIgnoreMatch does. Two DNs that name the same entry have the same key.
    /// The key two equal DNs share (types and values lower-cased, spaces collapsed, multi-valued
    /// RDNs sorted). Built in one buffer: planning a large message asks for it for every entry.
    public var normalized: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rdns.count * 24)
        for (index, rdn) in rdns.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            if rdn.attributes.count == 1 {
                rdn.attributes[0].appendNormalized(to: &bytes)
            } else {
                bytes += rdn.normalized.utf8
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func matches(_ other: DN) -> Bool { normalized == other.normalized }
}

/// A relative distinguished name: one or more attribute type and value pairs joined by `+`.
public struct RDN: Hashable, Sendable {
    public var attributes: [AttributeTypeAndValue]

    public init(attributes: [AttributeTypeAndValue]) { self.attributes = attributes }

    public init(_ type: String, _ value: String) {
        self.attributes = [AttributeTypeAndValue(type: type, value: Array(value.utf8))]
    }

    /// Multi-valued RDNs are unordered: the key sorts its parts.
    public var normalized: String { attributes.map(\.normalized).sorted().joined(separator: "+") }
}

public struct AttributeTypeAndValue: Hashable, Sendable {
    public var type: String
    public var value: [UInt8]

    public init(type: String, value: [UInt8]) {
        self.type = type
        self.value = value
    }

    /// The value as text when it is valid UTF-8.
    public var stringValue: String? { String(validating: value, as: UTF8.self) }

    public var normalized: String {
        if isOwnKey { return type + "=" + String(decoding: value, as: UTF8.self) }
        let text = String(decoding: value, as: UTF8.self).lowercased()
        let collapsed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return type.lowercased() + "=" + DN.escape(value: Array(collapsed.utf8))
    }

    /// Plain ASCII without capitals, escapes or doubled spaces is its own key (most values are).
    private var isOwnKey: Bool {
        value.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F || $0 == 0x40 })
            && type.utf8.allSatisfy({ !($0 >= 0x41 && $0 <= 0x5A) })
    }

    /// `normalized`, appended to a buffer.
    func appendNormalized(to bytes: inout [UInt8]) {
        if isOwnKey {
            bytes += type.utf8
            bytes.append(UInt8(ascii: "="))
            bytes += value
        } else {
            bytes += normalized.utf8
        }
    }
}

// MARK: - RFC 4514 string form

public struct DNSyntaxError: Error, Sendable, Hashable {
    /// 0-based byte offset into the DN string at which the problem is.
    public var offset: Int
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }
}

extension DNSyntaxError: CustomStringConvertible {
    public var description: String { "invalid DN at offset \(offset): \(reason)" }
}

extension DN: CustomStringConvertible, LosslessStringConvertible {
    /// The RFC 4514 string form, escaping only what section 2.4 requires (and control bytes).
    public var description: String { rdns.map(\.description).joined(separator: ",") }

    public init?(_ description: String) {
        guard let dn = try? DN(parsing: description) else { return nil }
        self = dn
    }

    public init(parsing text: String) throws(DNSyntaxError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// Parses the RFC 4514 string form. Spaces around `,`, `+` and `=` are accepted (RFC 4514 §3
    /// lets implementations be liberal); unescaped trailing spaces of a value are dropped.
    public init(parsing bytes: [UInt8]) throws(DNSyntaxError) {
        var parser = DNParser(bytes: bytes)
        self = try parser.parseDN()
    }

    /// RFC 4514 §2.4: escape `"+,;<>\` and NUL anywhere, `#` and space at the start, space at the end.
    /// Bytes below 0x20, DEL, and bytes that do not form valid UTF-8 are written as `\HH`.
    public static func escape(value: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        let valid = String(validating: value, as: UTF8.self) != nil
        for (index, byte) in value.enumerated() {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
                UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case UInt8(ascii: "#") where index == 0:
                out.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case UInt8(ascii: " ") where index == 0 || index == value.count - 1:
                out.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case 0..<0x20, 0x7F:
                out.append(contentsOf: hexEscape(byte))
            case 0x80... where !valid:
                out.append(contentsOf: hexEscape(byte))
            default:
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexEscape(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return [UInt8(ascii: "\\"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
    }
}

extension RDN: CustomStringConvertible {
    public var description: String { attributes.map(\.description).joined(separator: "+") }

    /// Parses one RDN (`cn=a+sn=b`); a string holding more than one RDN is an error.
    public init(parsing text: String) throws(DNSyntaxError) {
        let dn = try DN(parsing: text)
        guard dn.rdns.count == 1, let rdn = dn.rdns.first else {
            throw DNSyntaxError(offset: 0, reason: dn.rdns.isEmpty ? "an RDN must not be empty" : "expected a single RDN, found \(dn.rdns.count)")
        }
        self = rdn
    }
}

extension AttributeTypeAndValue: CustomStringConvertible {
    public var description: String { type + "=" + DN.escape(value: value) }
}

/// Recursive-descent parser for RFC 4514 §3.
private struct DNParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpaces() {
        while current == UInt8(ascii: " ") { index += 1 }
    }

    private func fail(_ reason: String, at offset: Int? = nil) -> DNSyntaxError {
        DNSyntaxError(offset: offset ?? index, reason: reason)
    }

    // distinguishedName = [ relativeDistinguishedName *( COMMA relativeDistinguishedName ) ]
    mutating func parseDN() throws(DNSyntaxError) -> DN {
        skipSpaces()
        if current == nil { return .root }
        var rdns: [RDN] = []
        while true {
            rdns.append(try parseRDN())
            skipSpaces()
            guard let byte = current else { break }
            guard byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";") else {
                throw fail("expected ',' between RDNs")
            }
            index += 1
            skipSpaces()
            if current == nil { throw fail("DN ends with a separator") }
        }
        return DN(rdns: rdns)
    }

    // relativeDistinguishedName = attributeTypeAndValue *( PLUS attributeTypeAndValue )
    mutating func parseRDN() throws(DNSyntaxError) -> RDN {
        var parts = [try parseAVA()]
        while current == UInt8(ascii: "+") {
            index += 1
            skipSpaces()
            parts.append(try parseAVA())
        }
        return RDN(attributes: parts)
    }

    // attributeTypeAndValue = attributeType EQUALS attributeValue
    // attributeType = descr / numericoid
    mutating func parseAVA() throws(DNSyntaxError) -> AttributeTypeAndValue {
        skipSpaces()
        let start = index
        guard let first = current else { throw fail("expected an attribute type") }
        let oidPrefix = bytes.count >= index + 5 && bytes[index..<(index + 4)].map { $0 | 0x20 } == Array("oid.".utf8) && isDigit(bytes[index + 4])
        if oidPrefix {
            // "OID." before a numeric OID (RFC 2253 readers accept it); the OID is the type
            index += 4
            let oidStart = index
            while let byte = current, isDigit(byte) || byte == UInt8(ascii: ".") { index += 1 }
            let oid = String(decoding: bytes[oidStart..<index], as: UTF8.self)
            guard OID.isValid(oid) else { throw fail("'\(oid)' is not a valid OID", at: oidStart) }
        } else if isAlpha(first) {
            // descr = keystring = leadkeychar *keychar
            while let byte = current, isAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "-") { index += 1 }
        } else if isDigit(first) {
            // numericoid = number 1*( DOT number )
            while let byte = current, isDigit(byte) || byte == UInt8(ascii: ".") { index += 1 }
            let oid = String(decoding: bytes[start..<index], as: UTF8.self)
            guard OID.isValid(oid) else { throw fail("'\(oid)' is not a valid OID", at: start) }
        } else {
            throw fail("expected an attribute type, found '\(printable(first))'")
        }
        var type = String(decoding: bytes[start..<index], as: UTF8.self)
        if type.count > 4, type.lowercased().hasPrefix("oid.") { type.removeFirst(4) }
        skipSpaces()
        guard current == UInt8(ascii: "=") else {
            if current == nil { throw fail("attribute type '\(type)' has no '=value'", at: start) }
            throw fail("expected '=' after '\(type)'")
        }
        index += 1
        skipSpaces()
        let value = try parseValue()
        return AttributeTypeAndValue(type: type, value: value)
    }

    // attributeValue = string / hexstring
    mutating func parseValue() throws(DNSyntaxError) -> [UInt8] {
        if current == UInt8(ascii: "#") { return try parseHexString() }
        var value: [UInt8] = []
        var escapedLength = 0  // value length up to and including the last escaped byte
        while let byte = current {
            switch byte {
            case UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: ";"):
                return trimmed(value, keeping: escapedLength)
            case UInt8(ascii: "\\"):
                index += 1
                guard let next = current else { throw fail("DN ends inside an escape", at: index - 1) }
                if let high = hexValue(next), index + 1 < bytes.count, let low = hexValue(bytes[index + 1]) {
                    value.append(high << 4 | low)
                    index += 2
                } else if Self.escapable.contains(next) {
                    value.append(next)
                    index += 1
                } else {
                    throw fail("'\\\(printable(next))' is not a valid escape", at: index - 1)
                }
                escapedLength = value.count
            case UInt8(ascii: "\""), UInt8(ascii: "<"), UInt8(ascii: ">"), 0:
                throw fail("'\(printable(byte))' must be escaped in a DN value")
            default:
                value.append(byte)
                index += 1
            }
        }
        return trimmed(value, keeping: escapedLength)
    }

    // hexstring = SHARP 1*hexpair ; a BER encoding of the value
    mutating func parseHexString() throws(DNSyntaxError) -> [UInt8] {
        let start = index
        index += 1
        var ber: [UInt8] = []
        while let high = current.flatMap(hexValue) {
            guard index + 1 < bytes.count, let low = hexValue(bytes[index + 1]) else {
                throw fail("odd number of hex digits in '#' value", at: start)
            }
            ber.append(high << 4 | low)
            index += 2
        }
        skipSpaces()
        if let byte = current, byte != UInt8(ascii: ","), byte != UInt8(ascii: "+"), byte != UInt8(ascii: ";") {
            throw fail("unexpected '\(printable(byte))' in '#' hex value")
        }
        // A primitive BER string with a short or long definite length: take its contents.
        guard ber.count >= 2 else { throw fail("'#' value is not a BER encoding", at: start) }
        var length = Int(ber[1])
        var header = 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count > 0, count <= 4, ber.count >= 2 + count else { throw fail("'#' value has a bad BER length", at: start) }
            length = ber[2..<(2 + count)].reduce(0) { $0 << 8 | Int($1) }
            header = 2 + count
        }
        guard ber[0] & 0x20 == 0, ber.count == header + length else {
            throw fail("'#' value is not a primitive BER value of the stated length", at: start)
        }
        return Array(ber[header...])
    }

    private func trimmed(_ value: [UInt8], keeping escapedLength: Int) -> [UInt8] {
        var end = value.count
        while end > escapedLength, value[end - 1] == UInt8(ascii: " ") { end -= 1 }
        return Array(value[..<end])
    }

    // special = escaped / SPACE / SHARP / EQUALS ; escaped = DQUOTE / PLUS / COMMA / SEMI / LANGLE / RANGLE
    private static let escapable: Set<UInt8> = Set("\"+,;<>\\ #=".utf8)
}

@inline(__always) func isAlpha(_ byte: UInt8) -> Bool {
    (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
}

@inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

@inline(__always) func hexValue(_ byte: UInt8) -> UInt8? { Hex.value(byte) }

func printable(_ byte: UInt8) -> String {
    (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16, uppercase: true)
}

/// Object identifiers in dotted-decimal form (RFC 4512 numericoid).
public enum OID {
    // numericoid = number 1*( DOT number ) ; number = DIGIT / ( LDIGIT 1*DIGIT )
    public static func isValid(_ text: String) -> Bool {
        let arcs = text.split(separator: ".", omittingEmptySubsequences: false)
        guard arcs.count >= 2 else { return false }
        return arcs.allSatisfy { arc in
            !arc.isEmpty && arc.utf8.allSatisfy(isDigit) && (arc.count == 1 || arc.first != "0")
        }
    }
}
