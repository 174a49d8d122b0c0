import LDAPModel
import TestSupport
import Testing

struct DNTests {
    // (input, RDN count, canonical string form)
    static let valid: [(String, Int, String)] = [
        ("", 0, ""),
        ("dc=example,dc=com", 2, "dc=example,dc=com"),
        ("cn=Doe\\, John,ou=People,dc=example,dc=com", 4, "cn=Doe\\, John,ou=People,dc=example,dc=com"),
        ("cn=Doe\\2C John,dc=example", 2, "cn=Doe\\, John,dc=example"),
        ("cn = Barbara Jensen , ou=Product Development, dc=airius, dc=com", 4, "cn=Barbara Jensen,ou=Product Development,dc=airius,dc=com"),
        ("cn=a\\+b,dc=x", 2, "cn=a\\+b,dc=x"),
        ("cn=Sales+uid=jdoe,dc=x", 2, "cn=Sales+uid=jdoe,dc=x"),
        ("cn=\\#hash,dc=x", 2, "cn=\\#hash,dc=x"),
        ("cn=not#first,dc=x", 2, "cn=not#first,dc=x"),
        ("cn=x\\=y,dc=x", 2, "cn=x=y,dc=x"),
        ("cn=semi\\;colon,dc=x", 2, "cn=semi\\;colon,dc=x"),
        ("cn=trail\\ ,dc=x", 2, "cn=trail\\ ,dc=x"),
        ("cn=\\ lead,dc=x", 2, "cn=\\ lead,dc=x"),
        ("cn=J\\C3\\BCrgen M\\C3\\BCller,dc=x", 2, "cn=Jürgen Müller,dc=x"),
        ("cn=Jürgen Müller,dc=x", 2, "cn=Jürgen Müller,dc=x"),
        ("ou=営業部,o=Airius", 2, "ou=営業部,o=Airius"),
        ("cn=quo\\\"te,dc=x", 2, "cn=quo\\\"te,dc=x"),
        ("cn=back\\\\slash,dc=x", 2, "cn=back\\\\slash,dc=x"),
        ("cn=lt\\<gt\\>,dc=x", 2, "cn=lt\\<gt\\>,dc=x"),
        ("2.5.4.3=Numeric,dc=x", 2, "2.5.4.3=Numeric,dc=x"),
        ("OID.2.5.4.3=Prefixed,dc=x", 2, "2.5.4.3=Prefixed,dc=x"),
        ("cn=#04024869,dc=x", 2, "cn=Hi,dc=x"),
        ("cn=a;dc=x", 2, "cn=a,dc=x"),
        ("cn=,dc=x", 2, "cn=,dc=x"),
    ]

    @Test(arguments: valid)
    func parsesAndWrites(_ input: String, _ count: Int, _ canonical: String) throws {
        let dn = try DN(parsing: input)
        #expect(dn.rdns.count == count)
        #expect(dn.description == canonical)
        #expect(try DN(parsing: dn.description) == dn, "string form must parse back to the same DN")
    }

    static let invalid: [(String, Int)] = [
        ("cn=foo,bar", 7), ("=x", 0), ("cn=x\\zz", 4), ("cn=a,", 5), ("cn", 0), ("cn=a\"b", 4), ("1.2.=x", 0),
        ("cn=#0", 3), ("cn=#zz", 4), ("c n=x", 2), ("cn=x<y", 4), ("cn=a\\", 4),
    ]

    @Test(arguments: invalid)
    func rejects(_ input: String, _ offset: Int) {
        #expect(throws: DNSyntaxError.self) { try DN(parsing: input) }
        do {
            _ = try DN(parsing: input)
        } catch {
            #expect(error.offset == offset, "\(input): \(error)")
        }
    }

    @Test func escapesWhatRFC4514Requires() {
        #expect(DN.escape(value: Array(" a,b+c\"d\\e<f>g;h ".utf8)) == "\\ a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\ ")
        #expect(DN.escape(value: [0x61, 0x00, 0x62]) == "a\\00b")
        #expect(DN.escape(value: [0x61, 0xFF]) == "a\\FF", "bytes that are not UTF-8 are hex-escaped")
        #expect(DN.escape(value: Array("#x#".utf8)) == "\\#x#")
    }

    @Test func normalisedComparison() throws {
        let a = try DN(parsing: "CN=John  Doe, OU=People,DC=Example,DC=com")
        let b = try DN(parsing: "cn=john doe,ou=people,dc=example,dc=com")
        #expect(a != b)
        #expect(a.matches(b))
        let multi1 = try DN(parsing: "cn=a+uid=b,dc=x")
        let multi2 = try DN(parsing: "uid=B+cn=A,dc=x")
        #expect(multi1.matches(multi2), "multi-valued RDNs are unordered")
    }

    @Test func hierarchy() throws {
        let base = try DN(parsing: "ou=site-a,dc=example,dc=com")
        let entry = try DN(parsing: "cn=x,OU=Site-A,dc=example,dc=com")
        #expect(entry.isWithin(base))
        #expect(base.isWithin(base))
        #expect(!base.isWithin(entry))
        #expect(entry.parent?.matches(base) == true)
        #expect(DN.root.parent == nil)
        let moved = entry.replacingSuffix(base, with: try DN(parsing: "ou=b,o=org"))
        #expect(moved?.description == "cn=x,ou=b,o=org")
        #expect(try RDN(parsing: "cn=a+sn=b").attributes.count == 2)
        #expect(throws: DNSyntaxError.self) { try RDN(parsing: "cn=a,dc=b") }
    }
}

struct DNStressTests {
    @Test func randomStringsNeverCrashAndRoundTrip() throws {
        var generator = SeededGenerator(seed: 4514)
        let alphabet = Array("cn=ou,dc+;\\\"#<> =aZ09\u{00}é".unicodeScalars)
        var parsed = 0
        for _ in 0..<5000 {
            let text = String(
                String.UnicodeScalarView((0..<Int.random(in: 0...30, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
            guard let dn = try? DN(parsing: text) else { continue }
            parsed += 1
            #expect(try DN(parsing: dn.description) == dn, "\(text.debugDescription) → \(dn)")
        }
        #expect(parsed > 50)
    }
}
