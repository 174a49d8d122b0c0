import LDAPModel
import Publishing
import Testing

/// slapo-accesslog's records as Debian 12's slapd 2.5.13 writes them (values seen in its log).
struct AccessLogTests {
    static func log(_ type: String, _ dn: String, mods: [String] = [], extra: [Attribute] = [], result: String = "0") -> Entry {
        Entry(
            dn: DN("reqStart=20261203063519.017415Z,cn=accesslog")!,
            attributes: [
                Attribute("objectClass", strings: ["audit" + type.capitalized]), Attribute("reqType", strings: [type]),
                Attribute("reqDN", strings: [dn]), Attribute("reqResult", strings: [result]),
                Attribute("entryCSN", strings: ["20261203063519.068853Z#000000#000#000000"]),
                Attribute("reqMod", values: mods.map { Array($0.utf8) }),
            ] + extra)
    }

    @Test func modifyValuesBecomeModifications() throws {
        let mods = [
            "description:+ one", "description:+ two", "description:- one", "l:= X", "st:=", "description:+ three", "description:-",
            "seeAlso:+ cn=x", "seeAlso:-", "uidNumber:# 2", "entryCSN:= 20261203063524.432620Z#000000#000#000000",
        ]
        let entry = try #require(try AccessLogEntry(Self.log("modify", "ou=people,dc=example,dc=com", mods: mods)))
        guard case .modify(let modifications) = entry.operation else { Issue.record("not a modify"); return }
        #expect(
            modifications == [
                Modification(.add, "description", strings: ["one", "two"]), Modification(.delete, "description", strings: ["one"]),
                Modification(.replace, "l", strings: ["X"]), Modification(.replace, "st"), Modification(.add, "description", strings: ["three"]),
                Modification(.delete, "description"), Modification(.add, "seeAlso", strings: ["cn=x"]), Modification(.delete, "seeAlso"),
                Modification(.increment, "uidNumber", strings: ["2"]),
                Modification(.replace, "entryCSN", strings: ["20261203063524.432620Z#000000#000#000000"]),
            ])
        #expect(entry.csn == "20261203063519.068853Z#000000#000#000000")
    }

    /// Two modifications of one attribute by the same operation, one after the other, are kept apart
    /// by a lone ":" value.
    @Test func aLoneColonSeparatesModifications() throws {
        let entry = try #require(
            try AccessLogEntry(Self.log("modify", "cn=p,dc=example,dc=com", mods: ["description:+ a", ":", "description:+ b", "description:+ c"])))
        guard case .modify(let modifications) = entry.operation else { Issue.record("not a modify"); return }
        #expect(modifications == [Modification(.add, "description", strings: ["a"]), Modification(.add, "description", strings: ["b", "c"])])
    }

    @Test func binaryValuesStayBytes() throws {
        var value = Array("jpegPhoto:+ ".utf8)
        value += [0x00, 0x01, 0x0A, 0xFF]
        let entry = Entry(
            dn: DN("reqStart=1,cn=accesslog")!,
            attributes: [
                Attribute("reqType", strings: ["add"]), Attribute("reqDN", strings: ["cn=Al,ou=people,dc=example,dc=com"]),
                Attribute("reqResult", strings: ["0"]), Attribute("entryCSN", strings: ["1"]),
                Attribute("reqMod", values: [Array("cn:+ Al".utf8), value]),
            ])
        let parsed = try #require(try AccessLogEntry(entry))
        #expect(parsed.operation == .add([Attribute("cn", strings: ["Al"]), Attribute("jpegPhoto", values: [[0x00, 0x01, 0x0A, 0xFF]])]))
    }

    @Test func renamesAndDeletes() throws {
        let rename = try #require(
            try AccessLogEntry(
                Self.log(
                    "modrdn", "cn=Al,ou=people,dc=example,dc=com",
                    extra: [
                        Attribute("reqNewRDN", strings: ["cn=Bo"]), Attribute("reqDeleteOldRDN", strings: ["TRUE"]),
                        Attribute("reqNewSuperior", strings: ["dc=example,dc=com"]),
                    ])))
        #expect(rename.operation == .modifyDN(newRDN: RDN("cn", "Bo"), deleteOldRDN: true, newSuperior: DN("dc=example,dc=com")))
        let delete = try #require(try AccessLogEntry(Self.log("delete", "cn=Bo,dc=example,dc=com")))
        #expect(delete.operation == .delete)
    }

    @Test func failedWritesAndOtherOperationsAreNotChanges() throws {
        #expect(try AccessLogEntry(Self.log("modify", "cn=x,dc=example,dc=com", mods: ["sn:= y"], result: "16")) == nil)
        #expect(try AccessLogEntry(Self.log("bind", "cn=x,dc=example,dc=com")) == nil)
    }

    @Test(arguments: ["description", "description:", "description:* x", "description:+x", ":+ x", "bad name:+ x"])
    func malformedReqModIsRefusedWithTheEntry(_ value: String) {
        #expect(throws: AccessLogError.self) { try AccessLogEntry.modifications([Array(value.utf8)], entry: "reqStart=1,cn=accesslog") }
    }
}

/// What a site publishes of each log entry.
struct CaptureScopeTests {
    static let schema = Subschema(attributeTypes: [
        try! AttributeTypeDefinition(parsing: "( 2.5.4.3 NAME 'cn' SUP name )"),
        try! AttributeTypeDefinition(parsing: "( 2.5.4.13 NAME 'description' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"),
        try! AttributeTypeDefinition(parsing: "( 2.5.4.0 NAME 'objectClass' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 )"),
        try! AttributeTypeDefinition(
            parsing: "( 1.3.6.1.4.1.4203.666.1.7 NAME 'entryCSN' SYNTAX 1.3.6.1.4.1.4203.666.11.2.1 NO-USER-MODIFICATION USAGE directoryOperation )"),
        try! AttributeTypeDefinition(parsing: "( 2.25.1.1.5 NAME 'bridgeheadOwner' SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )"),
    ])
    let scope = CaptureScope(subtrees: [DN("ou=people,dc=example,dc=com")!], schema: Self.schema)

    @Test func operationalAndOwnAttributesAreNotPublished() {
        let log = AccessLogEntry(
            csn: "1", dn: DN("cn=a,ou=people,dc=example,dc=com")!,
            operation: .modify([
                Modification(.replace, "description", strings: ["x"]), Modification(.replace, "entryCSN", strings: ["1"]),
                Modification(.replace, "bridgeheadOwner", strings: ["other"]), Modification(.add, "noSuchAttribute", strings: ["?"]),
                Modification(.add, "objectClass", strings: ["bridgeheadReplicated"]),
            ]))
        #expect(
            scope.steps(for: log) == [
                .record(ChangeRecord(dn: log.dn, change: .modify([Modification(.replace, "description", strings: ["x"])])))
            ])
    }

    @Test func movesAcrossTheEdgeBecomeAddsAndDeletes() {
        let inside = DN("cn=a,ou=people,dc=example,dc=com")!
        let outside = DN("cn=a,ou=outside,dc=example,dc=com")!
        let out = AccessLogEntry(csn: "1", dn: inside, operation: .modifyDN(newRDN: RDN("cn", "a"), deleteOldRDN: false, newSuperior: outside.parent))
        #expect(scope.steps(for: out) == [.removeOut(from: inside, to: outside)])
        let back = AccessLogEntry(
            csn: "2", dn: outside, operation: .modifyDN(newRDN: RDN("cn", "a"), deleteOldRDN: false, newSuperior: inside.parent))
        #expect(scope.steps(for: back) == [.copyIn(inside)])
        let elsewhere = AccessLogEntry(csn: "3", dn: outside, operation: .delete)
        #expect(scope.steps(for: elsewhere).isEmpty)
    }
}
