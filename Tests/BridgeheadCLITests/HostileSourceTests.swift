import Foundation
import LDAPModel
import TestSupport
import Testing

/// A hostile or compromised source, with a valid signature: each attack is a signed message, and each
/// ends in the quarantine with its reason, the directory unchanged, and the run going on.
@Suite(.serialized, .ownThread) struct HostileSourceTests {
    /// site-h: pinned to site-c's certificate, writes under ou=site-h, may never write userPassword.
    static let hostile = """
        [[source]]
        id = "site-h"
        addresses = ["dra@site-h.example.com"]
        certificate = "PKI/site-c.pem"
        naming = [{ from = "ou=SiteH,o=Org", to = "ou=site-h,dc=example,dc=com" }]
        deny_attributes = ["userPassword"]
        """

    static func world(agent: String = "", mail: String = "", imap: Bool = false) throws -> SyncEndToEndTests.World {
        // The PKI directory is known only once the world exists: the source refers to it by a marker.
        let world = try SyncEndToEndTests.World(imap: imap, agent: agent, mail: mail, sources: hostile)
        let text = try String(contentsOfFile: world.config, encoding: .utf8).replacingOccurrences(of: "PKI/", with: world.pki.directory.path + "/")
        try Data(text.utf8).write(to: URL(fileURLWithPath: world.config))
        // Its subtree, owned by site-h, with one entry of its own.
        let setup = """
            version: 1

            dn: ou=SiteH,o=Org
            changetype: add
            objectClass: organizationalUnit
            ou: SiteH

            dn: cn=Mine,ou=SiteH,o=Org
            changetype: add
            objectClass: person
            cn: Mine
            sn: Mine

            """
        try world.deliver([("h-setup", try world.message(ldif: setup, source: "site-h", sequence: 1, signer: "site-c"))])
        let first = try world.sync()
        #expect(first.status == 0, "\(first.stderr)")
        return world
    }

    /// Delivers one signed message of site-h (sequence 2: the first after the setup) and runs; returns
    /// the quarantine reason, checking that nothing changed.
    func refused(_ world: SyncEndToEndTests.World, _ ldif: String, signer: String = "site-c", headers: [String] = []) throws -> String {
        let before = try world.snapshot()
        try world.deliver([
            ("hostile", try world.message(ldif: "version: 1\n\n" + ldif, source: "site-h", sequence: 2, signer: signer, headers: headers))
        ])
        let run = try world.sync(["--format", "json"])
        #expect(run.status == 1, "quarantined: exit 1 (\(run.stderr))")
        let report = try SyncEndToEndTests.report(run)
        let message = report.messages.first { $0.id.hasSuffix(".hostile") }
        #expect(message?.outcome == "quarantined", "\(report.messages.map { ($0.outcome, $0.reason ?? "") })")
        #expect(try world.snapshot() == before, "nothing of it was applied")
        return message?.reason ?? ""
    }

    @Test func attributesAreJudgedByTypeNotBySpelling() throws {
        let world = try Self.world()
        // userPassword by its OID, in an add.
        let oid = try refused(world, "dn: cn=Sneak,ou=SiteH,o=Org\nchangetype: add\nobjectClass: person\ncn: Sneak\nsn: S\n2.5.4.35: secret\n")
        #expect(oid.contains("userPassword is denied for site-h"), "\(oid)")
        // bridgeheadOwner by its OID: it would give the entry to another source.
        let owner = try refused(
            world,
            "dn: cn=Mine,ou=SiteH,o=Org\nchangetype: modify\nreplace: 2.25.121545254838815494029423411523724941784.1.5\n"
                + "2.25.121545254838815494029423411523724941784.1.5: site-a\n-\n")
        #expect(owner.contains("bridgeheadOwner is kept by the agent"), "\(owner)")
        // A password in a new RDN.
        let rdn = try refused(world, "dn: cn=Mine,ou=SiteH,o=Org\nchangetype: modrdn\nnewrdn: cn=x+userPassword=y\ndeleteoldrdn: 0\n")
        #expect(rdn.contains("userPassword is denied"), "\(rdn)")
        // An attribute the server does not know.
        let unknown = try refused(world, "dn: cn=Mine,ou=SiteH,o=Org\nchangetype: modify\nadd: fooBar\nfooBar: x\n-\n")
        #expect(unknown.contains("'fooBar' is not in the server's schema"), "\(unknown)")
    }

    @Test func unsafeObjectClassesAndRootIDsAreRefused() throws {
        let world = try Self.world()
        let alias = try refused(
            world,
            "dn: cn=Door,ou=SiteH,o=Org\nchangetype: add\nobjectClass: alias\nobjectClass: extensibleObject\ncn: Door\n"
                + "aliasedObjectName: dc=example,dc=com\n")
        #expect(alias.contains("object class alias is refused"), "\(alias)")
        let byOID = try refused(world, "dn: cn=Mine,ou=SiteH,o=Org\nchangetype: modify\nadd: objectClass\nobjectClass: 2.5.6.1\n-\n")
        #expect(byOID.contains("object class alias"), "\(byOID)")
        let root = try refused(
            world,
            "dn: uid=toor,ou=SiteH,o=Org\nchangetype: add\nobjectClass: account\nobjectClass: posixAccount\nuid: toor\ncn: toor\n"
                + "uidNumber: 0\ngidNumber: 00\nhomeDirectory: /root\n")
        #expect(root.contains("uidNumber: 0 is root's id") && root.contains("gidNumber"), "\(root)")
    }

    @Test func arithmeticOnAMessageValueNeverTraps() throws {
        let world = try Self.world()
        let setup =
            "version: 1\n\ndn: uid=big,ou=SiteH,o=Org\nchangetype: add\nobjectClass: account\nobjectClass: posixAccount\nuid: big\ncn: big\n"
            + "uidNumber: 9223372036854775807\ngidNumber: 100\nhomeDirectory: /home/big\n"
        try world.deliver([("big", try world.message(ldif: setup, source: "site-h", sequence: 2, signer: "site-c"))])
        #expect(try world.sync().status == 0)
        let before = try world.snapshot()
        try world.deliver([
            (
                "overflow",
                try world.message(
                    ldif: "version: 1\n\ndn: uid=big,ou=SiteH,o=Org\nchangetype: modify\nincrement: uidNumber\nuidNumber: 1\n-\n",
                    source: "site-h", sequence: 3, signer: "site-c")
            )
        ])
        let run = try world.sync(["--format", "json"])
        #expect(run.status == 1, "refused, not a trap (exit 132): \(run.status) \(run.stderr)")
        let reason = try SyncEndToEndTests.report(run).messages.first?.reason ?? ""
        #expect(reason.contains("would pass the largest integer"), "\(reason)")
        #expect(try world.snapshot() == before)
        // And the next run is fine: the message is in the quarantine, not in the way.
        #expect(try world.sync().status == 0)
    }

    @Test func aCASignerBindsOnlyToItsOwnSource() throws {
        let world = try Self.world()
        // site-c trusts the CA; site-a's certificate comes from the same CA but names site-a's address.
        try world.deliver([("stolen", try world.message("c1.ldif", source: "site-c", sequence: 1, signer: "rsa", from: "dra@site-c.example.com"))])
        let run = try world.sync(["--format", "json"])
        let message = try SyncEndToEndTests.report(run).messages.first { $0.id.hasSuffix(".stolen") }
        #expect(message?.outcome == "quarantined")
        #expect(message?.reason?.contains("none of this source's addresses (dra@site-c.example.com)") == true, "\(message?.reason ?? "")")
    }

    @Test func aMessageForAnotherReceiverIsRefused() throws {
        let world = try Self.world(agent: "id = \"site-b\"")
        let elsewhere = try refused(
            world, "dn: cn=Mine,ou=SiteH,o=Org\nchangetype: modify\nreplace: sn\nsn: X\n-\n", headers: ["Bridgehead-Destination: site-x, site-y"])
        #expect(elsewhere.contains("meant for site-x, site-y, not for this receiver (site-b)"), "\(elsewhere)")
        // Addressed to us: applied; and the state records the identity the source signed.
        try world.deliver([
            (
                "ours",
                try world.message(
                    ldif: "version: 1\n\ndn: cn=Mine,ou=SiteH,o=Org\nchangetype: modify\nreplace: sn\nsn: Y\n-\n",
                    source: "site-h", sequence: 2, signer: "site-c",
                    headers: ["Bridgehead-Destination: site-x, site-b", "Bridgehead-Message-ID: <signed.2@site-h>"])
            )
        ])
        #expect(try world.sync().status == 0)
        let state = try DirectorySnapshot(ldif: try world.slapd.dump()).entries[DN("cn=site-h,ou=bridgehead,dc=example,dc=com")!.normalized]
        #expect(state?["bridgeheadmessageid"] == [Array("<signed.2@site-h>".utf8)], "the signed identity, not the outer Message-ID")
    }

    @Test func textFromAMessageReachesNoTerminalRaw() throws {
        let world = try Self.world()
        let escape = "\u{1B}[2J\u{1B}[31m"
        let bytes = try world.message(
            ldif: "version: 1\n", source: "site-z", sequence: 1, signer: "ec", from: "evil\u{1B}]0;pwned\u{07}@x.example",
            outer: ["Subject: \(escape)urgent\u{202E}txt.exe"])
        try world.deliver([("escape", bytes)])
        let run = try world.sync()
        #expect(run.status == 1)
        let list = try Command.run(CLITests.binary, ["quarantine", "list", "--config", world.config])
        for output in [run.stdout, run.stderr, list.stdout, list.stderr] {
            #expect(!output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x202E }, "\(output.debugDescription)")
        }
        #expect(list.stdout.contains("\\u{1B}[2J"), "shown, escaped: \(list.stdout)")
    }

    @Test(arguments: [false, true])
    func anOversizedMessageIsQuarantinedUnread(imap: Bool) throws {
        let world = try Self.world(mail: "max_message_bytes = 8192", imap: imap)
        let filler = (0..<200).map { "description: \(String(repeating: "x", count: 60)) \($0)\n" }.joined()
        let big = try world.message(
            ldif: "version: 1\n\ndn: cn=Mine,ou=SiteH,o=Org\nchangetype: modify\nreplace: description\n\(filler)-\n", source: "site-h", sequence: 2,
            signer: "site-c")
        #expect(big.count > 8192)
        let small = try world.message(
            ldif: "version: 1\n\ndn: cn=Mine,ou=SiteH,o=Org\nchangetype: modify\nreplace: sn\nsn: Small\n-\n", source: "site-c", sequence: 1,
            signer: "site-c",
            from: "dra@site-c.example.com")
        _ = small
        try world.deliver([("big", big)])
        let run = try world.sync(["--format", "json"])
        #expect(run.status == 1, "\(run.stderr)")
        let report = try SyncEndToEndTests.report(run)
        #expect(report.messages.count == 1)
        #expect(report.messages.first?.outcome == "quarantined")
        #expect(report.messages.first?.reason?.contains("more than [mail] max_message_bytes = 8192; it was not read") == true, "\(report.messages)")
        // The run goes on: the next message applies.
        try world.deliver([
            (
                "next",
                try world.message(
                    ldif: "version: 1\n\ndn: cn=Mine,ou=SiteH,o=Org\nchangetype: modify\nreplace: sn\nsn: Next\n-\n",
                    source: "site-h", sequence: 2, signer: "site-c")
            )
        ])
        #expect(try world.sync().status == 0)
    }
}
