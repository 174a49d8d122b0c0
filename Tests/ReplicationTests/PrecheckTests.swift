import LDAPClient
import LDAPModel
import Replication
import TestSupport
import Testing

/// `DirectoryWriter.Precheck` checks records a part at a time (a spilled plan read back from its
/// file) and reaches the verdicts a check of them all at once reaches: what earlier parts added,
/// deleted and touched counts for the parts after them.
@Suite(.serialized, .ownThread) struct PrecheckTests {
    static let unit = DN("ou=unit,dc=example,dc=com")!
    static let old = DN("cn=old,ou=unit,dc=example,dc=com")!
    static let new = DN("cn=new,ou=unit,dc=example,dc=com")!

    static func person(_ dn: DN) -> ChangeRecord {
        ChangeRecord(
            dn: dn,
            change: .add([
                Attribute("objectClass", strings: ["person"]), Attribute("cn", values: [dn.rdn!.attributes[0].value]),
                Attribute("sn", strings: ["S"]),
            ]))
    }

    @Test func partsRememberWhatEarlierPartsDid() async throws {
        let slapd = try Slapd()
        let connection = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri), credentials: .simple(dn: slapd.rootDN, password: Array(slapd.rootPassword.utf8)))
        let writer = DirectoryWriter(connection: connection, transactions: false)
        let unit = ChangeRecord(
            dn: Self.unit, change: .add([Attribute("objectClass", strings: ["organizationalUnit"]), Attribute("ou", strings: ["unit"])]))
        #expect(try await writer.apply(.alone(0..<1), of: [unit]).isEmpty)
        #expect(try await writer.apply(.alone(0..<1), of: [Self.person(Self.old)]).isEmpty)
        let deleteOld = ChangeRecord(dn: Self.old, change: .delete)
        let deleteUnit = ChangeRecord(dn: Self.unit, change: .delete)

        // Added in the first part, still below the unit when the second deletes it: refused.
        let added = [Self.person(Self.new), deleteOld, deleteUnit]
        let whole = try await writer.precheck(added, after: [])
        var parts = DirectoryWriter.Precheck(writer, after: [])
        #expect(try await parts.next(Array(added[..<1])) == nil)
        let inParts = try await parts.next(Array(added[1...]))
        #expect(whole?.index == 2 && inParts?.index == 2, "\(String(describing: whole)) \(String(describing: inParts))")
        #expect(inParts?.error.diagnosticMessage == "entries below it remain")

        // Its only child deleted in the first part: the unit's delete in the second passes.
        var again = DirectoryWriter.Precheck(writer, after: [])
        #expect(try await again.next([deleteOld]) == nil)
        #expect(try await again.next([deleteUnit]) == nil)
        #expect(try await writer.precheck([deleteOld, deleteUnit], after: []) == nil)

        // What goes before the check (applied at once) counts too; indexes count after it.
        var after = DirectoryWriter.Precheck(writer, after: [Self.person(Self.new)])
        #expect(try await after.next([deleteOld, deleteUnit])?.index == 1)
        // Nothing was written by any of it.
        #expect(try await connection.read(Self.new) == nil)
        #expect(try await connection.read(Self.old) != nil)
    }
}
