import LDAPModel
import Testing

struct FilterTests {
    static let roundTrips: [String] = [
        "(cn=Babs Jensen)", "(!(cn=Tim Howes))", "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))", "(o=univ*of*mich*)",
        "(seeAlso=)", "(cn:caseExactMatch:=Fred Flintstone)", "(cn:=Betty Rubble)", "(sn:dn:2.4.6.8.10:=Barney Rubble)",
        "(o:dn:=Ace Industry)", "(:1.2.3:=Wilma Flintstone)", "(:dn:2.4.6.8.10:=Dino)", "(o=Parens R Us \\28for all your parenthetical needs\\29)",
        "(cn=*\\2a*)", "(filename=C:\\5cMyFile)", "(sn=Lu\\c4\\8di\\c4\\87)", "(uid=*)", "(uidNumber>=1000)", "(uidNumber<=2000)",
        "(cn~=jensen)", "(cn=*end)", "(cn=start*)", "(cn;lang-en=x)",
    ]

    @Test(arguments: roundTrips)
    func parsesAndWritesBack(_ text: String) throws {
        let filter = try Filter(parsing: text)
        #expect(try Filter(parsing: filter.description) == filter)
    }

    @Test func escapesEveryMetacharacter() throws {
        let hostile = Filter.equality("uid", "*)(uid=*")
        #expect(hostile.description == "(uid=\\2a\\29\\28uid=\\2a)")
        #expect(Filter.equality("cn", [0x61, 0x00, 0x5C]).description == "(cn=a\\00\\5c)")
        #expect(try Filter(parsing: hostile.description) == hostile, "an escaped value parses back to the same value")
    }

    @Test(arguments: ["(cn=a", "cn=a)", "(&)", "(cn=a\\zz)", "(=a)", "(cn~a)", "(cn=a(b)", "((cn=a))"])
    func rejects(_ text: String) {
        #expect(throws: FilterSyntaxError.self) { try Filter(parsing: text) }
    }

    @Test func bareFilterAndDepthLimit() throws {
        #expect(try Filter(parsing: "uid=jdoe") == .equality("uid", "jdoe"))
        let deep = String(repeating: "(!", count: 100) + "(a=b)" + String(repeating: ")", count: 100)
        #expect(throws: FilterSyntaxError.self) { try Filter(parsing: deep) }
    }

    @Test func berEncoding() {
        // (cn=a) → [3] { "cn", "a" }
        #expect(Filter.equality("cn", "a").ber == [0xA3, 0x07, 0x04, 0x02, 0x63, 0x6E, 0x04, 0x01, 0x61])
        #expect(Filter.present("cn").ber == [0x87, 0x02, 0x63, 0x6E])
        let long = Filter.equality("description", [UInt8](repeating: 0x41, count: 300))
        #expect(long.ber[0] == 0xA3 && long.ber[1] == 0x82, "long lengths use the long form")
    }
}
