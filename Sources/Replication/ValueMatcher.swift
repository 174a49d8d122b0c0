import Foundation
import LDAPModel

/// Compares attribute values the way the server's equality rule would, closely enough to leave out
/// changes that change nothing: case-insensitive rules ignore case and repeated spaces, DN values
/// compare as DNs, telephone numbers without spaces and hyphens; anything else byte for byte.
struct ValueMatcher: Sendable {
    let schema: Subschema
    /// Equality rule by lower-cased attribute name, worked out once (following SUP).
    let rules: [String: String]
    /// OID by lower-cased name, and the names (lower-cased) of attributes whose values are DNs.
    let oids: [String: String]
    let distinguishedNames: Set<String>

    init(schema: Subschema) {
        self.schema = schema
        var rules: [String: String] = [:]
        var oids: [String: String] = [:]
        var distinguishedNames: Set<String> = []
        for type in schema.attributeTypes {
            let names = (type.names + [type.oid]).map { $0.lowercased() }
            for name in names { oids[name] = type.oid }
            if schema.holdsDistinguishedNames(type.oid) { distinguishedNames.formUnion(names) }
            guard let rule = schema.equality(of: type.oid)?.lowercased() else { continue }
            for name in names { rules[name] = rule }
        }
        self.rules = rules
        self.oids = oids
        self.distinguishedNames = distinguishedNames
    }

    func holdsDistinguishedNames(_ attribute: String) -> Bool { distinguishedNames.contains(attribute.asciiLowercased) }

    /// Whether `attribute`, the `index`th of its list, holds DNs: from `memo` when the type at that
    /// place in the list before was the same (`PositionalMemo`).
    func holdsDistinguishedNames(_ attribute: String, at index: Int, _ memo: inout PositionalMemo<String, Bool>) -> Bool {
        memo.value(at: index, isSame: { $0 == attribute }) { (attribute, holdsDistinguishedNames(attribute)) }
    }

    /// One key per attribute type, whatever name (or alias) a record used, with its options.
    func key(_ attribute: AttributeDescription) -> String {
        let lower = attribute.type.asciiLowercased
        let type = oids[lower] ?? lower
        if attribute.options.isEmpty { return type }
        return ([type] + attribute.options.map { $0.lowercased() }.sorted()).joined(separator: ";")
    }

    func normalize(_ attribute: String, _ value: [UInt8]) -> [UInt8] {
        let name = (attribute.utf8.contains(UInt8(ascii: ";")) ? String(attribute.prefix { $0 != ";" }) : attribute).asciiLowercased
        let rule = rules[name] ?? ""
        if name == "objectclass" || rule.hasPrefix("objectidentifier") {
            return Array(String(decoding: value, as: UTF8.self).lowercased().utf8)
        }
        if rule == "distinguishednamematch" || rule == "uniquemembermatch" {
            if let dn = try? DN(parsing: value) { return Array(dn.normalized.utf8) }
            return value
        }
        if rule.hasPrefix("caseignore") || rule.hasPrefix("telephonenumber") || rule.hasPrefix("numericstring") {
            let digitsOnly = rule.hasPrefix("telephonenumber") || rule.hasPrefix("numericstring")
            // ASCII (nearly every value): lower-cased and spaces collapsed byte by byte, as below.
            if !value.contains(where: { $0 >= 0x80 }) {
                var out: [UInt8] = []
                out.reserveCapacity(value.count)
                var space = false
                for byte in value {
                    if byte == 0x20 || (digitsOnly && byte == UInt8(ascii: "-")) {
                        space = !digitsOnly && !out.isEmpty
                        continue
                    }
                    if space {
                        out.append(0x20)
                        space = false
                    }
                    out.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
                }
                return out
            }
            var text = String(decoding: value, as: UTF8.self).lowercased()
            if rule.hasPrefix("telephonenumber") || rule.hasPrefix("numericstring") {
                text.removeAll { $0 == " " || $0 == "-" }
            }
            return Array(text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ").utf8)
        }
        return value
    }

    func same(_ attribute: String, _ a: [UInt8], _ b: [UInt8]) -> Bool { normalize(attribute, a) == normalize(attribute, b) }

    func contains(_ attribute: String, _ values: [[UInt8]], _ value: [UInt8]) -> Bool {
        let wanted = normalize(attribute, value)
        return values.contains { normalize(attribute, $0) == wanted }
    }

    /// The values of `values` that `other` does not hold (each list normalised once).
    func subtracting(_ attribute: String, _ values: [[UInt8]], _ other: [[UInt8]]) -> [[UInt8]] {
        let held = Set(other.map { normalize(attribute, $0) })
        return values.filter { !held.contains(normalize(attribute, $0)) }
    }

    /// The values of `values` that `other` holds too.
    func intersecting(_ attribute: String, _ values: [[UInt8]], _ other: [[UInt8]]) -> [[UInt8]] {
        let held = Set(other.map { normalize(attribute, $0) })
        return values.filter { held.contains(normalize(attribute, $0)) }
    }

    /// `values` without repeats (the first of equal values is kept).
    func unique(_ attribute: String, _ values: [[UInt8]]) -> [[UInt8]] {
        guard values.count > 1 else { return values }
        var seen: Set<[UInt8]> = []
        return values.filter { seen.insert(normalize(attribute, $0)).inserted }
    }

    func sameSet(_ attribute: String, _ a: [[UInt8]], _ b: [[UInt8]]) -> Bool {
        // The same bytes in the same order (what a re-sync of an unchanged entry finds): no rule needed.
        if a == b { return true }
        if a.count == 1, b.count == 1 { return same(attribute, a[0], b[0]) }
        return Set(a.map { normalize(attribute, $0) }) == Set(b.map { normalize(attribute, $0) })
    }
}

extension String {
    /// Lower-cased, without a copy when there is no ASCII capital (attribute names nearly never
    /// have one; `lowercased()` always allocates).
    var asciiLowercased: String {
        utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? lowercased() : self
    }
}
