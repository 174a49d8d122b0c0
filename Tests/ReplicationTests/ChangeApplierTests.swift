import Foundation
import LDAPClient
import LDAPModel
import LDIF
import Replication
import TestSupport
import Testing

@Suite(.serialized, .ownThread) struct ChangeApplierTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../LDAPClientTests/Fixtures/oracle-corpus.ldif").standardizedFileURL.path

    private func connect(_ slapd: Slapd) async throws -> LDAPConnection {
        try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri), credentials: .simple(dn: slapd.rootDN, password: Array(slapd.rootPassword.utf8)))
    }

    // Few commits: slapd 2.5.13 sometimes stops answering at a commit, more often the more commits a run
    // makes (docs/slapd-transactions.md, finding 4, open).
    @Test(arguments: [(true, 50), (false, 1)])
    func corpusEqualsLdapmodify(_ transactions: Bool, _ batchSize: Int) async throws {
        let ours = try Slapd()
        let reference = try Slapd()
        let applier = ChangeApplier(connection: try await connect(ours), options: .init(batchSize: batchSize, useTransactions: transactions))
        let summary = try await applier.apply(LDIFReader(source: try FileByteSource(path: Self.corpus)))
        #expect(summary.failures.isEmpty, "\(summary.failures)")
        #expect(summary.read == summary.applied && summary.read >= 200)
        if transactions {
            #expect(summary.transactions > 0 && summary.transactions <= summary.read, "adds and modifies go in transactions")
        } else {
            #expect(summary.transactions == 0)
        }
        #expect(try reference.ldapmodify(file: Self.corpus).status == 0)
        let mine = try DirectorySnapshot(ldif: try ours.dump())
        let theirs = try DirectorySnapshot(ldif: try reference.dump())
        #expect(mine == theirs, "\(mine.differences(from: theirs))")
    }

    @Test func aRefusedRecordRollsBackItsBatchAndIsNamed() async throws {
        let slapd = try Slapd()
        let before = try DirectorySnapshot(ldif: try slapd.dump())
        let ldif = """
            version: 1

            dn: ou=people,dc=example,dc=com
            changetype: add
            objectClass: organizationalUnit
            ou: people

            dn: cn=ghost,dc=example,dc=com
            changetype: modify
            replace: sn
            sn: x
            -

            dn: ou=groups,dc=example,dc=com
            changetype: add
            objectClass: organizationalUnit
            ou: groups

            """
        let applier = ChangeApplier(connection: try await connect(slapd), options: .init(batchSize: 10, useTransactions: true))
        let summary = try await applier.apply(LDIFReader(bytes: Array(ldif.utf8)))
        #expect(summary.applied == 0)
        #expect(summary.failures.count == 1)
        #expect(summary.failures.first?.record == 2)
        #expect(summary.failures.first?.line == 8)
        #expect(summary.failures.first?.error.code == .noSuchObject)
        #expect(try DirectorySnapshot(ldif: try slapd.dump()) == before, "the whole batch was rolled back")

        // Without transactions the first record goes in, and the run stops at the refusal.
        let plain = ChangeApplier(connection: try await connect(slapd), options: .init(useTransactions: false))
        let second = try await plain.apply(LDIFReader(bytes: Array(ldif.utf8)))
        #expect(second.applied == 1 && second.failures.first?.record == 2)
        let keepGoing = ChangeApplier(connection: try await connect(slapd), options: .init(useTransactions: false, continueOnError: true))
        let third = try await keepGoing.apply(LDIFReader(bytes: Array(ldif.utf8)))
        #expect(third.applied == 1, "only ou=groups is new")
        #expect(third.failures.map(\.record) == [1, 2])
    }

    @Test func badLDIFStopsBeforeItsBatchIsSent() async throws {
        let slapd = try Slapd()
        let before = try DirectorySnapshot(ldif: try slapd.dump())
        let ldif =
            "dn: ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n\ndn: ou=x,dc=example,dc=com\nchangetype: frob\n"
        let applier = ChangeApplier(connection: try await connect(slapd))
        await #expect(throws: LDIFError.self) { try await applier.apply(LDIFReader(bytes: Array(ldif.utf8))) }
        #expect(try DirectorySnapshot(ldif: try slapd.dump()) == before)
    }
}

/// The slapd 2.5 transaction pitfalls of docs/slapd-transactions.md, driven through the applier.
@Suite(.serialized, .ownThread) struct TransactionPitfallTests {
    @Test func deletesAndMovesAreAppliedOutsideTransactions() async throws {
        let slapd = try Slapd()
        let ldif = """
            dn: ou=a,dc=example,dc=com
            changetype: add
            objectClass: organizationalUnit
            ou: a

            dn: ou=b,dc=example,dc=com
            changetype: add
            objectClass: organizationalUnit
            ou: b

            dn: cn=x1,ou=a,dc=example,dc=com
            changetype: add
            objectClass: person
            cn: x1
            sn: x

            dn: cn=x2,ou=a,dc=example,dc=com
            changetype: add
            objectClass: person
            cn: x2
            sn: x

            dn: cn=x3,ou=a,dc=example,dc=com
            changetype: add
            objectClass: person
            cn: x3
            sn: x

            dn: cn=x1,ou=a,dc=example,dc=com
            changetype: modrdn
            newrdn: cn=x1
            deleteoldrdn: 0
            newsuperior: ou=b,dc=example,dc=com

            dn: cn=x2,ou=a,dc=example,dc=com
            changetype: modify
            replace: sn
            sn: y

            dn: cn=x2,ou=a,dc=example,dc=com
            changetype: delete

            dn: cn=x3,ou=a,dc=example,dc=com
            changetype: delete

            dn: cn=x1,ou=b,dc=example,dc=com
            changetype: delete

            dn: ou=a,dc=example,dc=com
            changetype: delete

            """
        let connection = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri, operationTimeout: 20),
            credentials: .simple(dn: slapd.rootDN, password: Array(slapd.rootPassword.utf8)))
        let summary = try await ChangeApplier(connection: connection, options: .init(batchSize: 100, useTransactions: true))
            .apply(LDIFReader(bytes: Array(ldif.utf8)))
        #expect(summary.failures.isEmpty, "\(summary.failures)")
        #expect(summary.applied == 11)
        #expect(summary.transactions == 2, "the adds, then the modify; the move and the deletes go alone")
        let names = try await connection.search(base: DN(slapd.suffix)!, attributes: ["1.1"]).map(\.dn.description).sorted()
        #expect(names == ["dc=example,dc=com", "ou=b,dc=example,dc=com"])
    }
}
