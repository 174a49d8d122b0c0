import Foundation
import LDAPClient
import LDAPModel
import Replication
import TestSupport
import Testing

@Suite(.serialized, .ownThread) struct ReplicaStateStoreTests {
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

    @Test func aClaimKeepsASecondAgentOutUntilTheStateMovesOn() async throws {
        let slapd = try Slapd()
        let connection = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri), credentials: .simple(dn: slapd.rootDN, password: Array(slapd.rootPassword.utf8)))
        let store = ReplicaStateStore(connection: connection, container: DN("ou=bridgehead,dc=example,dc=com")!)
        try await store.ensureContainer()
        let mine = SourceClaim(sequence: 1, time: Date(), holder: SourceClaim.holder(lockFile: "/run/a.lock"))
        let theirs = SourceClaim(sequence: 1, time: Date(), holder: SourceClaim.holder(lockFile: "/run/b.lock"))
        #expect(mine.holder != theirs.holder && SourceClaim(token: mine.token) == mine)
        // Both read "no state"; the first claim creates it, the second fails.
        try await connection.apply(store.claim("site-a", current: nil, claim: mine))
        let second = try await connection.pipeline([store.claim("site-a", current: nil, claim: theirs)])[0]
        #expect(second.code == .entryAlreadyExists)
        var state = try #require(try await store.read()["site-a"])
        #expect(state.sequence == 0 && state.claim == mine)
        // A claim made from a state that is no longer current fails; the claimer's own update succeeds.
        let stale = try await connection.pipeline([store.claim("site-a", current: ReplicaState(source: "site-a", sequence: 0), claim: theirs)])[0]
        #expect(stale.code == .assertionFailed)
        let wrongClaim = try await connection.pipeline([store.advance("site-a", from: 0, to: 1, messageID: "<m1@a>", claim: theirs)])[0]
        #expect(wrongClaim.code == .assertionFailed, "only the claimer advances the state")
        try await connection.apply(store.advance("site-a", from: 0, to: 1, messageID: "<m1@a>", claim: mine))
        state = try #require(try await store.read()["site-a"])
        #expect(state.sequence == 1 && state.messageID == "<m1@a>" && state.claim == nil)
        // Claimed and given up: the identity before the claim comes back.
        let next = SourceClaim(sequence: 2, time: Date(), holder: mine.holder)
        try await connection.apply(store.claim("site-a", current: state, claim: next))
        try await connection.apply(store.release("site-a", claim: next, restoring: "<m1@a>"))
        #expect(try await store.read()["site-a"] == state)
    }

    @Test func containerMustBeAnOUToBeCreated() async throws {
        let slapd = try Slapd()
        let connection = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri), credentials: .simple(dn: slapd.rootDN, password: Array(slapd.rootPassword.utf8)))
        let store = ReplicaStateStore(connection: connection, container: DN("cn=state,dc=example,dc=com")!)
        await #expect(throws: LDAPError.self) { try await store.ensureContainer() }
    }
}
