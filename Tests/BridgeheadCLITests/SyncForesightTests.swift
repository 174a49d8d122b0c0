import Foundation
import LDAPModel
import Replication
import TestSupport
import Testing

/// A dry run foretells the real run even when messages refer, by address only, to what earlier
/// messages of the same run create, rename, re-address or delete: the dry run writes nothing, so
/// resolution must see the run's planned effects (Fixtures/foresight: site A creates people, then a
/// group naming them by SMTP, IMCEAEX and X.400; re-addresses, deletes, moves; names them by
/// MSXCHNGE and EX; site B names site A's people; two messages name what is gone).
@Suite(.serialized, .ownThread) struct SyncForesightTests {
    static let fixtures = CLITests.root.appendingPathComponent("Tests/BridgeheadCLITests/Fixtures/foresight")

    func run(imap: Bool, transactions: Bool?) throws {
        let world = try SyncEndToEndTests.World(imap: imap, transactions: transactions)
        func message(_ file: String, _ source: String, _ sequence: Int) throws -> (name: String, bytes: [UInt8]) {
            let ldif = try String(contentsOf: Self.fixtures.appendingPathComponent(file + ".ldif"), encoding: .utf8)
            return (file, try world.message(ldif: ldif, source: source, sequence: sequence, signer: source == "site-a" ? "rsa" : "ec"))
        }
        try world.deliver([
            try message("a1", "site-a", 1), try message("a2", "site-a", 2), try message("a3", "site-a", 3),
            try message("b1", "site-b", 1), try message("a4", "site-a", 4), try message("a5-deleted", "site-a", 5),
            try message("b2-old-address", "site-b", 2),
        ])

        let before = try world.slapd.dump(attributes: ["*", "+"])
        let dry = try world.sync(["--dry-run", "--format", "json"])
        #expect(try world.slapd.dump(attributes: ["*", "+"]) == before, "the dry run wrote nothing")
        let real = try world.sync(["--format", "json"])
        #expect(dry.status == 1 && real.status == 1, "two quarantines, foreseen and made\n\(dry.stderr)\n\(real.stderr)")
        let foreseen = try JSONDecoder().decode(RunReport.self, from: Data(dry.stdoutBytes))
        let done = try JSONDecoder().decode(RunReport.self, from: Data(real.stdoutBytes))

        // Message by message, by source and sequence (IMAP ids are UIDs, which a dry run also reports).
        func key(_ message: MessageReport) -> String { "\(message.source ?? "?") #\(message.sequence ?? 0)" }
        #expect(foreseen.messages.map(key) == done.messages.map(key), "the same messages, in the same order")
        for (dryMessage, realMessage) in zip(foreseen.messages, done.messages) {
            #expect(
                dryMessage.outcome == realMessage.outcome,
                "\(key(realMessage)): foreseen \(dryMessage.outcome.rawValue), done \(realMessage.outcome.rawValue)")
            #expect(dryMessage.reason == realMessage.reason, "\(key(realMessage)): reasons differ")
            #expect(dryMessage.changes == realMessage.changes, "\(key(realMessage)): planned changes differ")
            #expect(dryMessage.unchanged == realMessage.unchanged)
            if !imap { #expect(dryMessage.id == realMessage.id) }
        }

        let outcomes = Dictionary(uniqueKeysWithValues: done.messages.map { (key($0), $0) })
        for applied in ["site-a #1", "site-a #2", "site-a #3", "site-a #4", "site-b #1"] {
            #expect(outcomes[applied]?.outcome == .applied, "\(applied): \(outcomes[applied]?.reason ?? "")")
        }
        #expect(outcomes["site-a #5"]?.outcome == .quarantined)
        #expect(outcomes["site-a #5"]?.reason?.contains("'SMTP:frank@site-a.example.com' names no entry") == true, "\(done.messages)")
        #expect(outcomes["site-b #2"]?.outcome == .quarantined)
        #expect(outcomes["site-b #2"]?.reason?.contains("'SMTP:carol@site-a.example.com' names no entry") == true)

        // And each address went to the entry it names now.
        let people = "ou=people,ou=site-a,dc=example,dc=com"
        let snapshot = try world.snapshot()
        func values(_ dn: String, _ attribute: String) -> Set<String> {
            Set((snapshot.entries[DN(dn)!.normalized]?[attribute] ?? []).map { DN(String(decoding: $0, as: UTF8.self))!.normalized })
        }
        let carol = DN("cn=Carol Shaw,\(people)")!.normalized
        let dave = DN("cn=Dave Cutler,\(people)")!.normalized
        let erin = DN("cn=Erin Catto,\(people)")!.normalized
        let regina = DN("cn=Regina Bianchini,ou=staff,ou=site-a,dc=example,dc=com")!.normalized
        #expect(values("cn=team,ou=site-a,dc=example,dc=com", "member") == [carol, dave, erin, regina])
        #expect(values("cn=Carol Shaw,\(people)", "manager") == [dave])
        #expect(values("cn=Erin Catto,\(people)", "manager") == [dave])
        #expect(values("cn=Bob Metcalfe,ou=shared,dc=example,dc=com", "manager") == [carol])
        #expect(values("cn=Bob Metcalfe,ou=shared,dc=example,dc=com", "seealso") == [regina, erin])
    }

    @Test func overMaildir() throws { try run(imap: false, transactions: nil) }

    @Test func overDovecot() throws { try run(imap: true, transactions: nil) }
}
