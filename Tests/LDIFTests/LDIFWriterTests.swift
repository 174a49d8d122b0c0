import LDAPModel
import LDIF
import Testing

struct LDIFWriterTests {
    // RFC 2849 note 8: what must be base64.
    static let base64Cases: [([UInt8], Bool, String)] = [
        (Array("plain".utf8), false, "plain text"),
        (Array(" leading".utf8), true, "leading space"),
        (Array(":colon".utf8), true, "leading colon"),
        (Array("<angle".utf8), true, "leading <"),
        (Array("trailing ".utf8), true, "trailing space"),
        (Array("in:side<ok".utf8), false, "colon and < inside"),
        ([0x61, 0x00, 0x62], true, "NUL"),
        (Array("a\nb".utf8), true, "LF"),
        (Array("a\rb".utf8), true, "CR"),
        (Array("Jürgen".utf8), true, "non-ASCII"),
        ([], false, "empty"),
        (Array("#hash".utf8), false, "leading #"),
    ]

    @Test(arguments: base64Cases)
    func base64Exactly(_ value: [UInt8], _ needed: Bool, _ label: String) throws {
        #expect(LDIFWriter.needsBase64(value) == needed, "\(label)")
        let entry = Entry(dn: try DN(parsing: "cn=x,dc=y"), attributes: [Attribute("description", values: [value])])
        let text = LDIFWriter().render(entry)
        #expect(text.allSatisfy { $0 < 0x80 }, "output is ASCII")
        #expect(try LDIFReader.records(in: text) == [.content(entry)], "\(label) reads back")
    }

    @Test func foldsLongLinesAt76() throws {
        let value = String(repeating: "abcdefghij", count: 30)
        let entry = Entry(dn: try DN(parsing: "cn=x,dc=y"), attributes: [Attribute("description", strings: [value])])
        let lines = String(decoding: LDIFWriter().render(entry), as: UTF8.self).split(separator: "\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        #expect(lines.dropFirst(2).allSatisfy { $0.hasPrefix(" ") })
        #expect(try LDIFReader.records(in: LDIFWriter().render(entry)) == [.content(entry)])
    }

    @Test func writesEveryChangeType() throws {
        let dn = try DN(parsing: "cn=Doe\\, John,ou=people,dc=example,dc=com")
        let records: [LDIFRecord] = [
            .change(
                ChangeRecord(
                    dn: dn, change: .add([Attribute("objectClass", strings: ["person"]), Attribute("jpegPhoto", values: [[0, 1, 2, 0xFF]])]))),
            .change(
                ChangeRecord(
                    dn: dn,
                    change: .modify([
                        Modification(.add, "mail", strings: ["a@b"]), Modification(.delete, "description"),
                        Modification(.replace, "cn;lang-en", strings: ["x", " y"]), Modification(.increment, "uidNumber", strings: ["5"]),
                        Modification(.replace, "telephoneNumber"),
                    ]))),
            .change(
                ChangeRecord(
                    dn: dn,
                    change: .modifyDN(newRDN: RDN("cn", "Doe, Jane"), deleteOldRDN: true, newSuperior: try DN(parsing: "ou=alumni,dc=example,dc=com"))
                )),
            .change(ChangeRecord(dn: dn, change: .modifyDN(newRDN: RDN("cn", "Jürgen"), deleteOldRDN: false, newSuperior: nil))),
            .change(ChangeRecord(dn: dn, change: .delete, controls: [Control(oid: "1.2.840.113556.1.4.805", isCritical: true)])),
        ]
        let text = LDIFWriter().render(records)
        #expect(try LDIFReader.records(in: text) == records)
        let shown = String(decoding: text, as: UTF8.self)
        #expect(shown.contains("dn: cn=Doe\\, John,ou=people,dc=example,dc=com\n"))
        #expect(shown.contains("changetype: modrdn\nnewrdn: cn=Doe\\, Jane\ndeleteoldrdn: 1\nnewsuperior: ou=alumni,dc=example,dc=com\n"))
        #expect(shown.contains("increment: uidNumber\nuidNumber: 5\n-\n"))
    }
}
