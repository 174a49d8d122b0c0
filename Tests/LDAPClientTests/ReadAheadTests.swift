import LDAPModel
import TestSupport
import Testing

@testable import LDAPClient

/// libldap reads through liblber's read-ahead layer (`bh_add_readahead`): many messages a read(2),
/// not two calls and a poll each. On every transport, under TLS and SASL too, entries much larger
/// than its buffer and pages of many small ones come whole, paged or not, as they were written.
@Suite(.serialized, .ownThread) struct ReadAheadTests {
    @Test func everyTransportReadsAheadAndBringsLargeAndManyEntriesWhole() async throws {
        let slapd = try Slapd(.init(tls: true))
        let caFile = try #require(slapd.caFile)
        let ldaps = try #require(slapd.ldapsURI)
        let password = Array(slapd.rootPassword.utf8)
        let writer = try await slapd.rootConnection()
        let people = slapd.base.child(RDN("ou", "people"))
        try await writer.apply(.add(organizationalUnit(people, "people")))
        // Values of 5 bytes to 300 KB (four and a half buffers), and 700 entries of a few dozen bytes.
        var written: [String: [UInt8]] = [:]
        for (index, size) in [5, 65_535, 65_536, 65_537, 300_000].enumerated() {
            let value = (0..<size).map { UInt8(ascii: "a") + UInt8(($0 &* 7 &+ index) % 26) }
            let dn = people.child(RDN("cn", "large\(index)"))
            try await writer.apply(.add(person(dn, cn: "large\(index)", sn: "L", extra: [Attribute("description", values: [value])])))
            written[dn.normalized] = value
        }
        let small = (1...700).map { ChangeRecord.add(person(people.child(RDN("cn", "user\($0)")), cn: "user\($0)", sn: "S\($0)")) }
        #expect(try await writer.pipeline(small).allSatisfy { $0.code == .success })

        let connections: [(String, LDAPConnection)] = [
            ("ldap", writer),
            (
                "StartTLS",
                try await LDAPConnection.connect(
                    LDAPConnectionOptions(uri: slapd.uri, startTLS: true, caFile: caFile), credentials: .simple(dn: slapd.rootDN, password: password))
            ),
            (
                "ldaps",
                try await LDAPConnection.connect(
                    LDAPConnectionOptions(uri: ldaps, caFile: caFile), credentials: .simple(dn: slapd.rootDN, password: password))
            ),
            ("ldapi", try await LDAPConnection.connect(LDAPConnectionOptions(uri: slapd.ldapiURI), credentials: .sasl(mechanism: "EXTERNAL"))),
        ]
        for (name, connection) in connections {
            #expect(await connection.readsAhead, "\(name)")
            let request = SearchRequest(base: people, scope: .oneLevel, attributes: ["cn", "sn", "description"], pageSize: 64)
            var pages: [[Entry]] = []
            try await connection.search(request) { pages.append($0) }
            let unpaged = try await connection.search(SearchRequest(base: people, scope: .oneLevel, attributes: ["cn", "sn", "description"]))
            for entries in [pages.flatMap { $0 }, unpaged] {
                #expect(entries.count == 705, "\(name)")
                #expect(Set(entries.map(\.dn.normalized)).count == 705, "\(name)")
                for entry in entries {
                    if let value = written[entry.dn.normalized] {
                        #expect(entry.values("description") == [value], "\(name): \(entry.dn)")
                    } else {
                        let number = entry.strings("cn").first?.dropFirst(4) ?? ""
                        #expect(entry.strings("sn") == ["S\(number)"], "\(name): \(entry.dn)")
                    }
                }
            }
            #expect(pages.count == 12 && pages.dropLast().allSatisfy { $0.count == 64 }, "\(name): \(pages.map(\.count))")
            // Reads and writes after a search keep working on the same connection.
            #expect(try await connection.read(people.child(RDN("cn", "large4")), attributes: ["cn"])?.strings("cn") == ["large4"], "\(name)")
        }

        // The next page is asked for while the caller works on one: a caller that stops with an
        // error gets it, and the connection goes on serving.
        struct Stop: Error {}
        var handed = 0
        await #expect(throws: Stop.self) {
            try await writer.search(SearchRequest(base: people, scope: .oneLevel, attributes: ["1.1"], pageSize: 64)) { _ in
                handed += 1
                if handed == 2 { throw Stop() }
            }
        }
        #expect(handed == 2)
        #expect(try await writer.search(base: people, scope: .oneLevel, attributes: ["1.1"], pageSize: 64).count == 705)
    }
}
