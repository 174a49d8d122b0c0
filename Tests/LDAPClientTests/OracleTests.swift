import Foundation
import LDAPClient
import LDAPModel
import LDIF
import TestSupport
import Testing

/// The same change-record corpus applied through LDAPClient to one slapd and with ldapmodify to another
/// must leave identical directories.
@Suite(.ownThread) struct OracleTests {
    @Test func corpusThroughLDAPClientEqualsLdapmodify() async throws {
        let corpus = Fixtures.path("oracle-corpus.ldif")
        let ours = try Slapd()
        let reference = try Slapd()

        let reader = LDIFReader(source: try FileByteSource(path: corpus))
        let connection = try await ours.rootConnection()
        var count = 0
        var types: Set<String> = []
        while let record = try reader.next() {
            guard case .change(let change) = record else { Issue.record("the corpus holds only change records"); return }
            count += 1
            types.insert(change.changeType)
            try await connection.apply(change)
        }
        #expect(count >= 200)
        #expect(types == ["add", "delete", "modify", "modrdn"])

        let output = try reference.ldapmodify(file: corpus)
        #expect(output.status == 0, "ldapmodify: \(output.stderr)")

        let mine = try DirectorySnapshot(ldif: try ours.dump())
        let theirs = try DirectorySnapshot(ldif: try reference.dump())
        #expect(mine.entries.count >= 80)
        #expect(mine == theirs, "\(mine.differences(from: theirs))")
        // The same, read back through our own client, compared with ldapsearch's view.
        let viaClient = DirectorySnapshot(entries: try await connection.search(base: ours.base))
        #expect(viaClient == mine, "\(viaClient.differences(from: mine))")
    }
}
