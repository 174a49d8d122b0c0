/// An attribute description (RFC 4512 §2.5): a type and options, `cn;lang-en`, `userCertificate;binary`.
public struct AttributeDescription: Hashable, Sendable {
    /// A descriptor (`cn`) or a numeric OID (`2.5.4.3`).
    public var type: String
    public var options: [String]

    public init(type: String, options: [String] = []) {
        self.type = type
        self.options = options
    }

    /// Parses `attributedescription = attributetype options` with
    /// `options = *( SEMI option )`, `option = 1*keychar`; nil when it does not match.
    public init?(_ text: String) {
        // Most descriptions have no options: no splitting then (this runs for every LDIF line).
        if !text.utf8.contains(UInt8(ascii: ";")) {
            guard Self.isValidType(text) else { return nil }
            self.init(type: text)
            return
        }
        let parts = text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard let type = parts.first, Self.isValidType(type) else { return nil }
        let options = Array(parts.dropFirst())
        guard options.allSatisfy(Self.isValidOption) else { return nil }
        self.init(type: type, options: options)
    }

    // attributetype = oid = descr / numericoid ; descr = ALPHA *( ALPHA / DIGIT / HYPHEN )
    public static func isValidType(_ text: String) -> Bool {
        guard let first = text.utf8.first else { return false }
        if isAlpha(first) {
            return text.utf8.allSatisfy { isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
        }
        return OID.isValid(text)
    }

    static func isValidOption(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// Lower-cased type and sorted, lower-cased options: equal for descriptions that name the same thing.
    public var normalized: String {
        if options.isEmpty { return type.lowercased() }
        return ([type.lowercased()] + options.map { $0.lowercased() }.sorted()).joined(separator: ";")
    }

    /// Whether both name the same thing (their `normalized` forms are equal). Without options (nearly
    /// always) and in ASCII (as valid names are), no String is made.
    public func matches(_ other: AttributeDescription) -> Bool {
        if options.isEmpty, other.options.isEmpty, let same = Self.equalIgnoringASCIICase(type, other.type) { return same }
        return normalized == other.normalized
    }

    /// Whether the type is `name`, ignoring case (and the options).
    public func hasType(_ name: String) -> Bool { Self.sameName(type, name) }

    /// Whether two names (of attribute types, object classes) are the same, ignoring case.
    public static func sameName(_ a: String, _ b: String) -> Bool {
        equalIgnoringASCIICase(a, b) ?? (a.lowercased() == b.lowercased())
    }

    /// Whether `a` and `b` are equal with ASCII capitals lower-cased; nil when that takes
    /// `lowercased()` (a byte outside ASCII before they are found to differ). Two strings that agree
    /// on an ASCII prefix, ignoring case, and then differ in an ASCII character, or where one ends,
    /// are different however they go on.
    public static func equalIgnoringASCIICase(_ a: String, _ b: String) -> Bool? {
        var a = a
        var b = b
        return a.withUTF8 { left in
            b.withUTF8 { right in
                var index = 0
                while index < left.count, index < right.count {
                    let (x, y) = (left[index], right[index])
                    if x >= 0x80 || y >= 0x80 { return nil }
                    if x != y, lowercase(x) != lowercase(y) { return false }
                    index += 1
                }
                return left.count == right.count
            }
        }
    }

    private static func lowercase(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
}

extension AttributeDescription: CustomStringConvertible {
    public var description: String { ([type] + options).joined(separator: ";") }
}

extension AttributeDescription: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self = AttributeDescription(value) ?? AttributeDescription(type: value)
    }
}
