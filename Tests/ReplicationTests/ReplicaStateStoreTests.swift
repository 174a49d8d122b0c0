import Foundation
import LDAPClient
import LDAPModel
import Replication
import TestSupport
import Testing

@Suite(.serialized) struct ReplicaStateStoreTests {
    @Test func advancesInTheSameTransactionAndOnlyFromTheStateItSaw() async throws {
        let slapd = try Slapd()
        let connection = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri), credentials: .simple(dn: slapd.rootDN, password: Array(slapd.rootPassword.utf8)))
        let store = ReplicaStateStore(connection: connection, container: DN("ou=bridgehead,dc=example,dc=com")!)
        try await store.ensureContainer()
        try await store.ensureContainer()  // idempotent
        #expect(try await store.read().isEmpty)

        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let change = ChangeRecord.add(
            Entry(
                dn: DN("ou=site-a,dc=example,dc=com")!,
                attributes: [
                    Attribute("objectClass", strings: ["organizationalUnit"]), Attribute("ou", strings: ["site-a"]),
                ]))
        let first = try await connection.beginTransaction()
        _ = try await connection.pipeline(
            [change, store.advance("site-a", from: nil, to: 1, messageID: "<m1@a>", at: time)], controls: [first.control], window: 1)
        try await connection.commit(first)
        var states = try await store.read()
        #expect(states["site-a"] == ReplicaState(source: "site-a", sequence: 1, messageID: "<m1@a>", applied: time))

        // Advancing from a state that is no longer current fails the whole transaction.
        let stale = try await connection.beginTransaction()
        let other = ChangeRecord(dn: DN("ou=site-a,dc=example,dc=com")!, change: .modify([Modification(.replace, "description", strings: ["x"])]))
        _ = try await connection.pipeline(
            [other, store.advance("site-a", from: 0, to: 2, messageID: "<m2@a>")], controls: [stale.control], window: 1)
        await #expect(throws: LDAPError.self) { try await connection.commit(stale) }
        #expect(try await connection.read(DN("ou=site-a,dc=example,dc=com")!)?.values("description").isEmpty == true, "nothing applied")
        states = try await store.read()
        #expect(states["site-a"]?.sequence == 1)

        try await connection.apply(store.advance("site-a", from: 1, to: 2, messageID: nil, at: time))
        #expect(try await store.read()["site-a"]?.sequence == 2)
    }

    @Test func containerMustBeAnOUToBeCreated() async throws {
        let slapd = try Slapd()
        let connection = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri), credentials: .simple(dn: slapd.rootDN, password: Array(slapd.rootPassword.utf8)))
        let store = ReplicaStateStore(connection: connection, container: DN("cn=state,dc=example,dc=com")!)
        await #expect(throws: LDAPError.self) { try await store.ensureContainer() }
    }
}
