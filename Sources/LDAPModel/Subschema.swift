/// A server's published schema (RFC 4512 §4.1): enough of it to know each attribute's syntax,
/// whether it holds DNs, whether it is operational, and what object classes require.
public struct Subschema: Sendable, Hashable {
    public var attributeTypes: [AttributeTypeDefinition]
    public var objectClasses: [ObjectClassDefinition]
    private var attributesByName: [String: Int]
    private var classesByName: [String: Int]
    /// The same, keyed by the names as the schema spells them: most lookups use those, and then no
    /// lower-cased copy is made (planning a large full message looks names up millions of times).
    private var attributesBySpelling: [String: Int] = [:]
    private var classesBySpelling: [String: Int] = [:]

    public init(attributeTypes: [AttributeTypeDefinition], objectClasses: [ObjectClassDefinition] = []) {
        self.attributeTypes = attributeTypes
        self.objectClasses = objectClasses
        attributesByName = [:]
        for (index, type) in attributeTypes.enumerated() {
            for key in [type.oid] + type.names {
                attributesByName[key.lowercased()] = index
                attributesBySpelling[key] = index
            }
        }
        classesByName = [:]
        for (index, objectClass) in objectClasses.enumerated() {
            for key in [objectClass.oid] + objectClass.names {
                classesByName[key.lowercased()] = index
                classesBySpelling[key] = index
            }
        }
    }

    /// Builds the schema from a subschema entry; descriptions that do not parse are skipped.
    public init(entry: Entry) {
        let types = entry.strings("attributeTypes").compactMap { try? AttributeTypeDefinition(parsing: $0) }
        let classes = entry.strings("objectClasses").compactMap { try? ObjectClassDefinition(parsing: $0) }
        self.init(attributeTypes: types, objectClasses: classes)
    }

    public func attributeType(_ name: String) -> AttributeTypeDefinition? {
        if let index = attributesBySpelling[name] { return attributeTypes[index] }
        let type = name.utf8.contains(UInt8(ascii: ";")) ? String(name.prefix { $0 != ";" }) : name
        return attributesByName[type.lowercased()].map { attributeTypes[$0] }
    }

    public func objectClass(_ name: String) -> ObjectClassDefinition? {
        if let index = classesBySpelling[name] { return objectClasses[index] }
        return classesByName[name.lowercased()].map { objectClasses[$0] }
    }

    /// The syntax OID of `name`, following SUP to the type that states it.
    public func syntax(of name: String) -> String? { inherited(name, \.syntax) }

    /// The equality matching rule of `name`, following SUP to the type that states it.
    public func equality(of name: String) -> String? { inherited(name, \.equality) }

    /// A field of `name`'s definition, or of the nearest superior type that states it.
    private func inherited(_ name: String, _ field: KeyPath<AttributeTypeDefinition, String?>) -> String? {
        var current = attributeType(name)
        var seen: Set<String> = []
        while let type = current, seen.insert(type.oid).inserted {
            if let value = type[keyPath: field] { return value }
            current = type.superior.flatMap(attributeType)
        }
        return nil
    }

    public static let dnSyntax = "1.3.6.1.4.1.1466.115.121.1.12"
    public static let nameAndOptionalUIDSyntax = "1.3.6.1.4.1.1466.115.121.1.34"

    /// Whether values of `name` are DNs (DN syntax, or Name and Optional UID as `uniqueMember` uses).
    public func holdsDistinguishedNames(_ name: String) -> Bool {
        guard let syntax = syntax(of: name) else { return false }
        return syntax == Self.dnSyntax || syntax == Self.nameAndOptionalUIDSyntax
    }

    /// Operational attributes (USAGE other than userApplications, or NO-USER-MODIFICATION) are the server's.
    public func isOperational(_ name: String) -> Bool {
        guard let type = attributeType(name) else { return false }
        return type.usage != .userApplications || type.noUserModification
    }

    /// Every attribute whose values are DNs, by their names.
    public var distinguishedNameAttributes: [String] {
        attributeTypes.filter { holdsDistinguishedNames($0.oid) }.flatMap { $0.names.isEmpty ? [$0.oid] : $0.names }
    }
}

/// An AttributeTypeDescription (RFC 4512 §4.1.2).
public struct AttributeTypeDefinition: Sendable, Hashable {
    public enum Usage: String, Sendable, Hashable {
        case userApplications, directoryOperation, distributedOperation, dSAOperation
    }

    public var oid: String
    public var names: [String]
    public var superior: String?
    public var equality: String?
    public var syntax: String?
    public var isSingleValued: Bool
    public var noUserModification: Bool
    public var usage: Usage

    // AttributeTypeDescription = LPAREN WSP numericoid [ SP "NAME" SP qdescrs ] [ SP "DESC" SP qdstring ]
    //   [ SP "OBSOLETE" ] [ SP "SUP" SP oid ] [ SP "EQUALITY" SP oid ] [ SP "ORDERING" SP oid ]
    //   [ SP "SUBSTR" SP oid ] [ SP "SYNTAX" SP noidlen ] [ SP "SINGLE-VALUE" ] [ SP "COLLECTIVE" ]
    //   [ SP "NO-USER-MODIFICATION" ] [ SP "USAGE" SP usage ] extensions WSP RPAREN
    public init(parsing text: String) throws(SchemaSyntaxError) {
        let description = try SchemaDescription(parsing: text)
        oid = description.oid
        names = description.values("NAME")
        superior = description.values("SUP").first
        equality = description.values("EQUALITY").first
        syntax = description.values("SYNTAX").first.map { $0.split(separator: "{").first.map(String.init) ?? $0 }
        isSingleValued = description.has("SINGLE-VALUE")
        noUserModification = description.has("NO-USER-MODIFICATION")
        usage = description.values("USAGE").first.flatMap(Usage.init(rawValue:)) ?? .userApplications
    }
}

/// An ObjectClassDescription (RFC 4512 §4.1.1).
public struct ObjectClassDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case abstract = "ABSTRACT", structural = "STRUCTURAL", auxiliary = "AUXILIARY" }

    public var oid: String
    public var names: [String]
    public var superiors: [String]
    public var kind: Kind
    public var must: [String]
    public var may: [String]

    public init(parsing text: String) throws(SchemaSyntaxError) {
        let description = try SchemaDescription(parsing: text)
        oid = description.oid
        names = description.values("NAME")
        superiors = description.values("SUP")
        kind = description.has("ABSTRACT") ? .abstract : description.has("AUXILIARY") ? .auxiliary : .structural
        must = description.values("MUST")
        may = description.values("MAY")
    }
}

public struct SchemaSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { "invalid schema description: \(reason)" }
}

/// The shared shape of RFC 4512 descriptions: `( oid KEYWORD value KEYWORD ( a $ b ) FLAG … )`.
struct SchemaDescription {
    var oid: String
    private var fields: [String: [String]] = [:]

    func values(_ keyword: String) -> [String] { fields[keyword] ?? [] }
    func has(_ keyword: String) -> Bool { fields[keyword] != nil }

    init(parsing text: String) throws(SchemaSyntaxError) {
        let tokens = try Self.tokens(text)
        guard tokens.count >= 3, tokens.first == "(", tokens.last == ")" else { throw SchemaSyntaxError(reason: "not enclosed in parentheses") }
        oid = tokens[1]
        var index = 2
        let end = tokens.count - 1
        while index < end {
            let keyword = tokens[index]
            index += 1
            var values: [String] = []
            if index < end, tokens[index] == "(" {
                index += 1
                while index < end, tokens[index] != ")" {
                    if tokens[index] != "$" { values.append(tokens[index]) }
                    index += 1
                }
                index += 1
            } else if index < end, Self.takesValue(keyword) {
                values.append(tokens[index])
                index += 1
            }
            fields[keyword, default: []] += values
        }
    }

    private static func takesValue(_ keyword: String) -> Bool {
        !["OBSOLETE", "SINGLE-VALUE", "COLLECTIVE", "NO-USER-MODIFICATION", "ABSTRACT", "STRUCTURAL", "AUXILIARY"].contains(keyword)
    }

    /// Parentheses, `$`, quoted strings (quotes removed) and bare words.
    private static func tokens(_ text: String) throws(SchemaSyntaxError) -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if quoted {
                if character == "'" {
                    tokens.append(current)
                    current = ""
                    quoted = false
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case "'":
                if !current.isEmpty { tokens.append(current); current = "" }
                quoted = true
            case "(", ")", "$":
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(String(character))
            case " ", "\t", "\n", "\r":
                if !current.isEmpty { tokens.append(current); current = "" }
            default:
                current.append(character)
            }
        }
        guard !quoted else { throw SchemaSyntaxError(reason: "unterminated quoted string") }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }
}
