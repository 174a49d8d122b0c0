import LDAPModel
import Testing

@testable import Replication

/// How values compare under their attribute's equality rule: the ASCII fast path gives what the
/// general (String) path gives, which the non-ASCII values still take.
struct ValueMatcherTests {
    static let schema = Subschema(attributeTypes: [
        try! AttributeTypeDefinition(parsing: "( 2.5.4.13 NAME 'description' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"),
        try! AttributeTypeDefinition(
            parsing: "( 2.5.4.20 NAME 'telephoneNumber' EQUALITY telephoneNumberMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.50 )"),
        try! AttributeTypeDefinition(parsing: "( 2.5.4.35 NAME 'userPassword' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )"),
    ])

    @Test(arguments: [
        ("description", "  Hello   World ", "hello world"), ("description", "ABC", "abc"), ("description", "", ""),
        ("description;lang-en", "A  b", "a b"), ("DESCRIPTION", "x", "x"), ("description", "Jürgen  MÜLLER", "jürgen müller"),
        ("telephoneNumber", "+1 555-0100 12", "+1555010012"), ("telephoneNumber", " - ", ""), ("userPassword", "Se Cret", "Se Cret"),
    ])
    func normalisedByRule(_ attribute: String, _ value: String, _ expected: String) {
        let matcher = ValueMatcher(schema: Self.schema)
        #expect(String(decoding: matcher.normalize(attribute, Array(value.utf8)), as: UTF8.self) == expected)
    }
}
