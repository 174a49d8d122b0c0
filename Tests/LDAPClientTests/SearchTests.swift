import LDAPClient
import LDAPModel
import TestSupport
import Testing

@Suite(.serialized, .ownThread) struct SearchTests {
    @Test func rootDSEAndSubschema() async throws {
        let slapd = try Slapd()
        let connection = try await slapd.rootConnection()
        let root = try await connection.rootDSE()
        #expect(root.strings("namingContexts") == ["dc=example,dc=com"])
        #expect(root.strings("supportedControl").contains(Control.OIDs.assertion))
        #expect(try await connection.supportsTransactions())
        let schema = try await connection.subschema()
        #expect(schema.attributeTypes.count > 100)
        for attribute in ["member", "manager", "seeAlso", "owner", "uniqueMember", "secretary"] {
            #expect(schema.holdsDistinguishedNames(attribute), "\(attribute) holds DNs")
        }
        for attribute in ["cn", "mail", "jpegPhoto", "uidNumber"] {
            #expect(!schema.holdsDistinguishedNames(attribute), "\(attribute) does not hold DNs")
        }
        #expect(schema.isOperational("modifyTimestamp") && schema.isOperational("entryUUID"))
        #expect(!schema.isOperational("description"))
        #expect(schema.objectClass("bridgeheadReplicaState")?.must.contains("bridgeheadSequence") == true, "the project's schema is loaded")
        #expect(schema.attributeType("bridgeheadSequence")?.isSingleValued == true)
    }

    @Test func pagedSearchReturnsEveryEntry() async throws {
        let slapd = try Slapd()
        let connection = try await slapd.rootConnection()
        let people = slapd.base.child(RDN("ou", "people"))
        try await connection.apply(.add(organizationalUnit(people, "people")))
        let records = (1...1200).map { ChangeRecord.add(person(people.child(RDN("cn", "user\($0)")), cn: "user\($0)", sn: "S")) }
        let results = try await connection.pipeline(records)
        #expect(results.allSatisfy { $0.code == .success })

        let paged = try await connection.search(SearchRequest(base: people, scope: .oneLevel, attributes: ["cn"], pageSize: 100))
        #expect(paged.count == 1200)
        #expect(Set(paged.map(\.dn.normalized)).count == 1200)
        let unpaged = try await connection.search(base: people, scope: .oneLevel, attributes: ["1.1"])
        #expect(unpaged.count == 1200)

        do {
            _ = try await connection.search(SearchRequest(base: people, scope: .oneLevel, sizeLimit: 10))
            Issue.record("a size limit of 10 was not enforced")
        } catch {
            #expect(error.code == .sizeLimitExceeded)
        }
    }

    @Test func scopesAndAttributeLists() async throws {
        let slapd = try Slapd()
        let connection = try await slapd.rootConnection()
        let people = slapd.base.child(RDN("ou", "people"))
        try await connection.apply(.add(organizationalUnit(people, "people")))
        try await connection.apply(
            .add(person(people.child(RDN("cn", "a")), cn: "a", sn: "A", extra: [Attribute("mail", strings: ["a@example.com"])])))
        try await connection.apply(.add(person(people.child(RDN("cn", "b")), cn: "b", sn: "B")))

        #expect(try await connection.search(base: people, scope: .base).count == 1)
        #expect(try await connection.search(base: people, scope: .oneLevel).count == 2)
        #expect(try await connection.search(base: people, scope: .subtree).count == 3)
        #expect(try await connection.search(base: people, scope: .children).count == 2)
        let onlyMail = try await connection.search(base: people, scope: .oneLevel, filter: .present("mail"), attributes: ["mail"])
        #expect(onlyMail.count == 1)
        #expect(onlyMail.first?.attributes.map(\.description.type) == ["mail"])
        let operational = try await connection.read(people.child(RDN("cn", "a")), attributes: ["+"])
        #expect(operational?.values("entryUUID").count == 1)
        #expect(try await connection.read(people.child(RDN("cn", "missing"))) == nil)
        await #expect(throws: LDAPError.self) { try await connection.search(base: dn("ou=nowhere,dc=example,dc=com")) }
    }

    /// Entries of different shapes in one search (the client reuses an attribute's name from the
    /// entry before when its bytes are the same at the same place): each comes with its own names
    /// and values, as `ldapsearch` shows them, options and all.
    @Test func entriesOfDifferentShapesKeepTheirOwnAttributes() async throws {
        let seed = Fixtures.directory.appendingPathComponent("../../../examples/directory.ldif").standardizedFileURL.path
        let slapd = try Slapd(.init(seeds: [seed]))
        let connection = try await slapd.rootConnection()
        let people = slapd.base.child(RDN("ou", "extra"))
        try await connection.apply(.add(organizationalUnit(people, "extra")))
        try await connection.apply(.add(person(people.child(RDN("cn", "a")), cn: "a", sn: "A")))
        try await connection.apply(
            .add(person(people.child(RDN("cn", "b")), cn: "b", sn: "B", extra: [Attribute("description;lang-en", strings: ["in English"])])))
        try await connection.apply(
            .add(person(people.child(RDN("cn", "c")), cn: "c", sn: "C", extra: [Attribute("description", strings: ["plain"])])))
        let snapshot = try DirectorySnapshot(ldif: try slapd.dump())
        let whole = try await connection.search(base: slapd.base, scope: .subtree)
        let paged = try await connection.search(SearchRequest(base: slapd.base, scope: .subtree, pageSize: 2))
        for found in [whole, paged] {
            #expect(found.count == 11)
            #expect(DirectorySnapshot(entries: found) == snapshot, "\(DirectorySnapshot(entries: found).differences(from: snapshot))")
        }
        let read = try await connection.read([people.child(RDN("cn", "b")), people.child(RDN("cn", "c")), people])
        #expect(
            read.map { $0?.attributes.map(\.description.description).sorted() } == [
                ["cn", "description;lang-en", "objectClass", "sn"], ["cn", "description", "objectClass", "sn"], ["objectClass", "ou"],
            ])
    }

    @Test func seededSandboxHoldsTheSeed() async throws {
        let seed = Fixtures.directory.appendingPathComponent("../../../examples/directory.ldif").standardizedFileURL.path
        let slapd = try Slapd(.init(seeds: [seed]))
        let connection = try await slapd.rootConnection()
        let group = try #require(try await connection.read(dn("cn=directory admins,ou=groups,dc=example,dc=com")))
        #expect(group.values("member").count == 2)
        let timed = try await connection.search(SearchRequest(base: slapd.base, timeLimit: 30))
        #expect(timed.count == 7, "the suffix entry and the six seeded entries")
    }

    @Test func filterValuesCannotInject() async throws {
        let slapd = try Slapd()
        let connection = try await slapd.rootConnection()
        try await connection.apply(.add(person(slapd.base.child(RDN("cn", "x")), cn: "x", sn: "X")))
        for hostile in ["*)(cn=*", "*", "x)(|(cn=*", "\\", "x\u{0}"] {
            let found = try await connection.search(base: slapd.base, filter: .equality("cn", hostile))
            #expect(found.isEmpty, "'\(hostile)' must match literally, and nothing has that value")
        }
        #expect(try await connection.search(base: slapd.base, filter: .equality("cn", "x")).count == 1)
    }

    @Test func binaryAndUTF8AndEscapedDNs() async throws {
        let slapd = try Slapd()
        let connection = try await slapd.rootConnection()
        var photo: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00]
        for byte in 0...255 { photo.append(UInt8(byte)) }
        photo += [0x00, 0x00, 0xFF, 0xD9]
        let names = ["Doe, John", "Jürgen Müller", "小笠原 ロドニー", "a+b", "#hash", "trailing ", " leading", "semi;colon", "quo\"te", "back\\slash"]
        for name in names {
            let entryDN = slapd.base.child(RDN("cn", name))
            try await connection.apply(.add(person(entryDN, cn: name, sn: "S", extra: [Attribute("jpegPhoto", values: [photo])])))
            let read = try #require(try await connection.read(entryDN, attributes: ["cn", "jpegPhoto"]))
            #expect(read.dn.matches(entryDN), "\(name): \(read.dn)")
            #expect(read.values("cn") == [Array(name.utf8)])
            #expect(read.values("jpegPhoto") == [photo], "binary value comes back byte for byte")
        }
        #expect(try await connection.search(base: slapd.base, scope: .oneLevel, filter: .present("jpegPhoto")).count == names.count)
    }
}
