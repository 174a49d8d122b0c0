import Addressing
import LDAPModel
import TestSupport
import Testing

struct AddressTests {
    @Test(arguments: [
        "EX:/o=Org/ou=Site/cn=Recipients/cn=jdoe", "EX:/o=Org/ou=First Administrative Group/cn=Recipients/cn=Doe, John (Sales) 5%",
        "X400:c=US;a= ;p=Org;o=Site;s=Doe;g=John;", "SMTP:john.doe+tag@example.com", "FAX:+1 555 0100", "X500:/o=Org/cn=a_b",
    ])
    func imceaRoundTrips(_ text: String) throws {
        let address = try AddressParser.parse(text)
        let encoded = IMCEA.encode(type: address.type, address: address.value, domain: "gateway.example.com")
        let again = try AddressParser.parse(encoded)
        #expect(again == address, "\(encoded)")
        #expect(again.imceaDomain == "gateway.example.com")
        #expect(encoded.utf8.allSatisfy { $0 < 0x80 && $0 != 0x20 }, "an IMCEA address is a plain SMTP address")
        let decoded = try #require(IMCEA.decode(encoded))
        #expect(decoded.address == address.value)
    }

    @Test func imceaDecodingRules() throws {
        #expect(IMCEA.decode("IMCEAEX-_o=A+2Eb_cn=x+2ey@d.example")?.address == "/o=A.b/cn=x.y", "upper- and lower-case hex")
        #expect(IMCEA.decode("IMCEAFAX-+1+20555@d.example")?.address == "+1 555", "a '+' without two hex digits stays")
        #expect(IMCEA.decode("imceaex-_o=a@b@d.example")?.address == "/o=a@b", "the address ends at the last '@'")
        #expect(IMCEA.decode("IMCEAEX-_o=a@d.example")?.domain == "d.example")
        #expect(IMCEA.decode("IMCEA-_o=a@d.example") == nil)
        #expect(IMCEA.decode("IMCEAEX-_o=a b@d.example") == nil)
    }

    @Test func exchangeAddressesBecomeLDAPDNs() throws {
        let address = try AddressParser.parse("MSXCHNGE:/o=Org/ou=Site A/cn=Recipients/cn=Doe, John")
        #expect(address.distinguishedName?.description == "cn=Doe\\, John,cn=Recipients,ou=Site A,o=Org")
        #expect(address.distinguishedName?.isWithin(try DN(parsing: "ou=Site A,o=Org")) == true)
        #expect(try AddressParser.parse("SMTP:a@b.example").distinguishedName == nil)
    }

    @Test func equalityIsByCanonicalForm() throws {
        let forms = [
            "EX:/o=Org/ou=Site/cn=Recipients/cn=jdoe", "MSXCHNGE:/O=ORG/OU=SITE/CN=RECIPIENTS/CN=JDOE",
            "X400:c=US;a= ;p=Org;o=Site;dda:MSXCHNGE=//o=Org//ou=Site//cn=Recipients//cn=jdoe;",
            "X400:C=US;A= ;P=Org;O=Site;DDA.TYPE=MSXCHNGE;DDA.VALUE=//o=Org//ou=Site//cn=Recipients//cn=jdoe",
            "IMCEAEX-_o=Org_ou=Site_cn=Recipients_cn=jdoe@gw.example", "imceaex-+2fo=Org+2fou=Site+2fcn=Recipients+2fcn=jdoe@gw.example",
        ]
        let parsed = try forms.map { try AddressParser.parse($0) }
        #expect(Set(parsed).count == 1, "\(parsed.map(\.canonical))")
        #expect(try AddressParser.parse("X500:/o=Org/ou=Site/cn=Recipients/cn=jdoe") != parsed[0], "an X500 proxy is another type")
    }

    @Test func hostileInputIsRefusedOrKeptLiteral() throws {
        #expect(throws: AddressError.self) { try AddressParser.parse("SMTP:a\u{0}b@example.com") }
        #expect(throws: AddressError.self) { try AddressParser.parse(String(repeating: "a", count: 5000) + "@example.com") }
        #expect(throws: AddressError.self) { try AddressParser.parse("SMTP:*)(uid=*@example.com") }
        // Quoted, it is a valid local part: resolution escapes it (RFC 4515) when it reaches a filter.
        let quoted = try AddressParser.parse("SMTP:\"*)(uid=*\"@example.com")
        #expect(quoted.canonical == "SMTP:\"*)(uid=*\"@example.com")
        let unknown = try AddressParser.parse("SIP:*)(objectClass=*)")
        #expect(unknown.isUnknownType && unknown.canonical == "SIP:*)(objectClass=*)")
    }

    @Test func randomInputNeverCrashes() {
        var generator = SeededGenerator(seed: 182_932)
        let alphabet = Array("EXSMTP:/=;@IMCEA-_+2Fo c,a$\"<>()\\x4".unicodeScalars)
        for _ in 0..<20000 {
            let text = String(
                String.UnicodeScalarView((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
            if let address = try? AddressParser.parse(text) {
                #expect(!address.canonical.isEmpty)
                // The canonical form reads back to the same address (unknown types excepted: kept verbatim).
                if !address.isUnknownType, address.imceaDomain == nil, let again = try? AddressParser.parse(address.canonical) {
                    #expect(again == address, "\(text.debugDescription) → \(address.canonical)")
                }
            }
        }
    }
}
