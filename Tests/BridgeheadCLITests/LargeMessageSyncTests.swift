import Foundation
import MessageFormat
import TestSupport
import Testing

/// A message too large to hold (over `MessageDecoder.streamingSize`) is verified from its file at
/// intake and its records read again at its turn: from the Maildir's own file, or spooled from IMAP.
/// The run gives what a held message gives: the dry run foretells it (also the next message, which
/// refers to entries the large one creates), and the directory ends with every entry and value.
@Suite(.serialized, .ownThread) struct LargeMessageSyncTests {
    static let entries = 3_000

    /// site-a's full message: the top entry and `entries` people with a 5 KB photo each.
    static func fullLDIF() -> String {
        var generator = SeededGenerator(seed: 16)
        var ldif = "dn: ou=SiteA,o=Org\nobjectClass: organizationalUnit\nou: SiteA\n\n"
        for serial in 0..<entries {
            let photo = (0..<5_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            ldif +=
                "dn: cn=p\(serial),ou=SiteA,o=Org\nobjectClass: inetOrgPerson\ncn: p\(serial)\nsn: S\(serial)\n"
                + "mail: p\(serial)@site-a.example.com\njpegPhoto:: \(Data(photo).base64EncodedString())\n"
                + "description:: \(Data("\(serial) é".utf8).base64EncodedString())\n\n"
        }
        return ldif
    }

    static let delta = """
        dn: cn=p7,ou=SiteA,o=Org
        changetype: modify
        replace: description
        description: changed after the full message
        -

        dn: cn=team,ou=SiteA,o=Org
        changetype: add
        objectClass: groupOfNames
        cn: team
        member: cn=p1,ou=SiteA,o=Org
        member: p2@site-a.example.com

        """

    /// `spill`: the real run keeps the full message's plan in a temporary file (plan_memory_mb = 0),
    /// applies it from there, and reaches what the dry run (which never spills) foretold.
    func run(imap: Bool, spill: Bool = false) throws {
        let world = try SyncEndToEndTests.World(imap: imap, agent: spill ? "plan_memory_mb = 0" : "")
        let full = try world.message(ldif: Self.fullLDIF(), source: "site-a", sequence: 1, signer: "rsa", kind: "full")
        #expect(full.count >= MessageDecoder.streamingSize, "\(full.count) bytes: large enough to be streamed")
        let delta = try world.message(ldif: Self.delta, source: "site-a", sequence: 2, signer: "rsa")
        try world.deliver([("a2", delta), ("a1-full", full)])

        let dry = try world.sync(["--dry-run", "--format", "json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let run = try world.sync(["--format", "json", "-v"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("read back from a temporary file") == spill, "\(run.stderr.suffix(2_000))")
        let foretold = try SyncEndToEndTests.report(dry)
        let done = try SyncEndToEndTests.report(run)
        #expect(done.messages.map(\.outcome) == ["applied", "applied"], "\(done.messages.map { "\($0.id) \($0.outcome) \($0.reason ?? "")" })")
        #expect(done.changes == Self.entries + 3)
        #expect(foretold.changes == done.changes)
        for (before, after) in zip(foretold.messages, done.messages) {
            #expect(before.id == after.id && before.outcome == after.outcome && before.changes == after.changes, "the dry run foretold \(after.id)")
        }

        let snapshot = try world.snapshot()
        let people = snapshot.entries.keys.filter { $0.hasSuffix(",ou=site-a,dc=example,dc=com") && $0.hasPrefix("cn=p") }
        #expect(people.count == Self.entries)
        var generator = SeededGenerator(seed: 16)
        let first = (0..<5_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let samePhoto = snapshot.entries["cn=p0,ou=site-a,dc=example,dc=com"]?["jpegphoto"] == [first]
        #expect(samePhoto, "binary values byte for byte")
        let description = snapshot.entries["cn=p7,ou=site-a,dc=example,dc=com"]?["description"] ?? []
        #expect(description.map { String(decoding: $0, as: UTF8.self) } == ["changed after the full message"])
        let members = Set((snapshot.entries["cn=team,ou=site-a,dc=example,dc=com"]?["member"] ?? []).map { String(decoding: $0, as: UTF8.self) })
        #expect(members == ["cn=p1,ou=site-a,dc=example,dc=com", "cn=p2,ou=site-a,dc=example,dc=com"], "\(members)")
        #expect(world.folders()[".Processed"]?.count == 2 && world.folders()[""] == [])
        let spooled = (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()))?.filter { $0.hasPrefix("bridgehead-message-") }
        #expect(spooled ?? [] == [], "no spooled file left behind")
    }

    /// Its LDIF is parsed once, at its turn, not also as it is verified: a large full message whose
    /// last record does not parse is quarantined then, for that reason, before anything of it is
    /// written; the dry run foretells it, and the delta after it waits.
    @Test func aLargeMessageWhoseLDIFBreaksAtTheEndIsQuarantinedAtItsTurn() throws {
        let world = try SyncEndToEndTests.World(imap: false)
        let ldif = Self.fullLDIF() + "dn: cn=last,ou=SiteA,o=Org\nobjectClass: inetOrgPerson\ncn last\nsn: L\n\n"
        let full = try world.message(ldif: ldif, source: "site-a", sequence: 1, signer: "rsa", kind: "full")
        #expect(full.count >= MessageDecoder.streamingSize, "\(full.count) bytes: large enough to be streamed")
        let delta = try world.message(ldif: Self.delta, source: "site-a", sequence: 2, signer: "rsa")
        try world.deliver([("a2", delta), ("a1-full", full)])
        let before = try world.snapshot()

        let dry = try world.sync(["--dry-run", "--format", "json"])
        let run = try world.sync(["--format", "json"])
        let foretold = try SyncEndToEndTests.report(dry)
        let done = try SyncEndToEndTests.report(run)
        for report in [foretold, done] {
            let outcomes = report.messages.map { "\($0.sequence ?? 0) \($0.outcome) \($0.reason ?? "")" }
            #expect(report.messages.first { $0.sequence == 1 }?.outcome == "quarantined", "\(outcomes)")
            #expect(report.messages.first { $0.sequence == 1 }?.reason?.contains("LDIF body") == true, "\(outcomes)")
            #expect(report.messages.first { $0.sequence == 2 }?.outcome != "applied", "\(outcomes)")
            #expect(report.changes == 0)
        }
        let siteA = { (snapshot: DirectorySnapshot) in snapshot.entries.filter { $0.key.hasSuffix("ou=site-a,dc=example,dc=com") } }
        #expect(siteA(try world.snapshot()) == siteA(before), "nothing of it was written")
        #expect(world.folders()[".Quarantine"]?.count == 1 && world.folders()[""]?.count == 1)
    }

    @Test func readFromItsFileInAMaildir() throws { try run(imap: false, spill: true) }

    @Test func spooledFromIMAP() throws { try run(imap: true) }
}
