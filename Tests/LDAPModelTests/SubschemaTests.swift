import LDAPModel
import Testing

struct SubschemaTests {
    @Test func followsSuperiorsToTheSyntax() throws {
        let schema = Subschema(attributeTypes: [
            try AttributeTypeDefinition(parsing: "( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )"),
            try AttributeTypeDefinition(parsing: "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s)' SUP name )"),
            try AttributeTypeDefinition(
                parsing: "( 2.5.4.49 NAME 'distinguishedName' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )"),
            try AttributeTypeDefinition(parsing: "( 2.5.4.31 NAME 'member' SUP distinguishedName )"),
            try AttributeTypeDefinition(parsing: "( 2.5.4.50 NAME 'uniqueMember' EQUALITY uniqueMemberMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.34 )"),
            try AttributeTypeDefinition(
                parsing:
                    "( 2.5.18.2 NAME 'modifyTimestamp' EQUALITY generalizedTimeMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"
            ),
        ])
        #expect(schema.syntax(of: "commonName") == "1.3.6.1.4.1.1466.115.121.1.15")
        #expect(schema.holdsDistinguishedNames("member"))
        #expect(schema.holdsDistinguishedNames("MEMBER;x-option"))
        #expect(schema.holdsDistinguishedNames("uniqueMember"))
        #expect(!schema.holdsDistinguishedNames("cn"))
        #expect(schema.isOperational("modifyTimestamp"))
        #expect(!schema.isOperational("cn"))
        #expect(schema.attributeType("modifyTimestamp")?.isSingleValued == true)
        #expect(Set(schema.distinguishedNameAttributes) == ["distinguishedName", "member", "uniqueMember"])
    }

    @Test func objectClasses() throws {
        let person = try ObjectClassDefinition(
            parsing: "( 2.5.6.6 NAME 'person' DESC 'RFC2256: a person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ telephoneNumber ) )")
        #expect(person.must == ["sn", "cn"])
        #expect(person.may == ["userPassword", "telephoneNumber"])
        #expect(person.kind == .structural)
        #expect(throws: SchemaSyntaxError.self) { try ObjectClassDefinition(parsing: "( 1.2.3 NAME 'x") }
    }
}
