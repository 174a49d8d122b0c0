import Coding

/// An X.400 O/R address (Exchange's semicolon form `c=US;a= ;p=Org;o=Site;s=Doe;g=John;`, or the slash
/// form `/c=US/a= /p=Org/…/`). Attribute order and case do not matter for equality.
public struct X400Address: Hashable, Sendable {
    /// Attributes in the order given; keys as written.
    public var attributes: [(key: String, value: String)]

    public static func == (lhs: X400Address, rhs: X400Address) -> Bool { lhs.canonicalForm == rhs.canonicalForm }
    public func hash(into hasher: inout Hasher) { hasher.combine(canonicalForm) }

    /// Field limits of X.400 (1988) upper bounds, as Exchange enforces them.
    static let limits: [String: Int] = [
        "c": 3, "a": 16, "p": 16, "o": 64, "ou1": 32, "ou2": 32, "ou3": 32, "ou4": 32, "ou": 32, "s": 40, "g": 16, "i": 5, "q": 3,
        "cn": 64,
    ]

    public var semicolonForm: String { attributes.map { "\($0.key)=\($0.value);" }.joined() }

    /// Keys and values in lower case, sorted by key; a blank ADMD stays one space.
    public var canonicalForm: String {
        normalizedAttributes.map { (key: $0.key, value: $0.value.lowercased()) }
            .sorted { ($0.key, $0.value) < ($1.key, $1.value) }
            .map { "\($0.key)=\($0.value);" }.joined()
    }

    /// Keys in lower case with their aliases resolved: ADMD → a, PRMD → p, a bare ou → ou1, ou2, …,
    /// and DDA.TYPE / DDA.VALUE → `dda:type`.
    var normalizedAttributes: [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        var ouCount = 0
        var ddaType: String?
        var ddaValue: String?
        for attribute in attributes {
            var key = attribute.key.lowercased()
            switch key {
            case "admd": key = "a"
            case "prmd": key = "p"
            case "ou":
                ouCount += 1
                key = "ou\(ouCount)"
            case "dda.type":
                ddaType = attribute.value
                continue
            case "dda.value":
                ddaValue = attribute.value
                continue
            default: break
            }
            if key.hasPrefix("dda:") { key = "dda:" + key.dropFirst(4).lowercased() }
            result.append((key, key == "a" && attribute.value.allSatisfy({ $0 == " " }) ? " " : attribute.value))
        }
        if let ddaType, let ddaValue { result.append(("dda:" + ddaType.lowercased(), ddaValue)) }
        return result
    }

    /// The value of a domain-defined attribute of `type` (`dda:TYPE=value`, or DDA.TYPE / DDA.VALUE).
    public func domainDefined(_ type: String) -> String? {
        let wanted = type.lowercased()
        for attribute in attributes {
            let key = attribute.key.lowercased()
            if key.hasPrefix("dda:"), key.dropFirst(4) == wanted { return attribute.value }
        }
        let ddaType = attributes.first { $0.key.lowercased() == "dda.type" }?.value.lowercased()
        if ddaType == wanted { return attributes.first { $0.key.lowercased() == "dda.value" }?.value }
        return nil
    }

    // std-or semicolon form: 1*( key "=" value ";" )
    static func parse(_ text: String) throws(AddressError) -> X400Address {
        let pieces: [Substring]
        if text.hasPrefix("/") {
            // slash form; "$" escapes the next character so a value can hold "/" or "$"
            var fields: [String] = []
            var current = ""
            var escaped = false
            for character in text.dropFirst() {
                if escaped {
                    guard character == "/" || character == "$" else {
                        throw AddressError("'$\(character)' is not an escape in an X.400 slash address (only $/ and $$ are)")
                    }
                    current.append(character)
                    escaped = false
                } else if character == "$" {
                    escaped = true
                } else if character == "/" {
                    fields.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
            }
            if !current.isEmpty { fields.append(current) }
            pieces = fields.map { Substring($0) }
        } else {
            pieces = text.split(separator: ";", omittingEmptySubsequences: true)
        }
        var attributes: [(key: String, value: String)] = []
        for piece in pieces {
            if piece.allSatisfy({ $0 == " " }) { continue }
            guard let equals = piece.firstIndex(of: "=") else { throw AddressError("X.400 field '\(piece)' has no '='") }
            let key = String(piece[..<equals]).trimmingCharacters(in: " ")
            var value = String(piece[piece.index(after: equals)...])
            if key.lowercased() != "a" { value = value.trimmingCharacters(in: " ") }
            if key.lowercased() == "a", value.allSatisfy({ $0 == " " }) { value = " " }
            guard !key.isEmpty else { throw AddressError("an X.400 field has no name") }
            if let limit = limits[key.lowercased()], value.count > limit {
                throw AddressError("X.400 field '\(key)' holds \(value.count) characters; at most \(limit) are allowed")
            }
            attributes.append((key, value))
        }
        guard !attributes.isEmpty else { throw AddressError("an X.400 address needs at least one field") }
        let address = X400Address(attributes: attributes)
        let keys = address.normalizedAttributes.map(\.key)
        for key in ["c", "a"] where keys.filter({ $0 == key }).count != 1 {
            throw AddressError(
                key == "c" ? "an X.400 address needs exactly one country (c=)" : "an X.400 address needs exactly one ADMD (a=, blank is ' ')")
        }
        let keysGiven = attributes.map { $0.key.lowercased() }
        if keysGiven.contains("dda.type") != keysGiven.contains("dda.value") {
            throw AddressError("DDA.TYPE and DDA.VALUE go together")
        }
        for key in keys where key.hasPrefix("dda:") && key.count - 4 > 8 {
            throw AddressError("the domain-defined attribute type '\(key.dropFirst(4))' is longer than 8 characters")
        }
        return address
    }
}
