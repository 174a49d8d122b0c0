import Foundation
import LDAPModel
import LDIF
import MailDrop
import Replication
import RunSupport
import TestSupport
import Testing

/// `bridgehead sync` end to end: messages signed by `openssl cms -sign`, delivered to a Maildir or a
/// real Dovecot, applied to a real slapd; the result is compared with an oracle — the valid changes
/// applied in order by `ldapmodify` to a second fresh slapd (Fixtures/sync/oracle.ldif).
@Suite(.serialized, .ownThread) struct SyncEndToEndTests {
    static let fixtures = CLITests.root.appendingPathComponent("Tests/BridgeheadCLITests/Fixtures/sync")

    /// The servers, keys, drop and configuration of one scenario.
    final class World {
        let slapd: Slapd
        let pki: TestPKI
        let folder: URL
        let maildir: String
        let dovecot: Dovecot?
        let config: String
        private var delivered = 0

        static let extraSeed = """
            dn: ou=shared,dc=example,dc=com
            objectClass: organizationalUnit
            ou: shared

            """

        static func seeds(_ folder: URL) throws -> [String] {
            let extra = folder.appendingPathComponent("shared.ldif")
            try Data(extraSeed.utf8).write(to: extra)
            return [CLITests.root.appendingPathComponent("examples/directory.ldif").path, extra.path]
        }

        init(imap: Bool = false, transactions: Bool? = nil, agent: String = "", mail extraMail: String = "", sources extraSources: String = "") throws
        {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-sync-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            slapd = try Slapd(Slapd.Options(seeds: try Self.seeds(folder)))
            pki = try TestPKI()
            try Data(slapd.rootPassword.utf8).write(to: folder.appendingPathComponent("ldap.secret"))
            chmod(folder.appendingPathComponent("ldap.secret").path, 0o600)
            var mail: String
            if imap {
                let server = try Dovecot()
                dovecot = server
                maildir = server.maildir
                try Data(server.password.utf8).write(to: folder.appendingPathComponent("imap.secret"))
                chmod(folder.appendingPathComponent("imap.secret").path, 0o600)
                mail = """
                    imap_url = "imap://127.0.0.1:\(server.port)/INBOX"
                    imap_user = "\(server.user)"
                    imap_password_file = "imap.secret"
                    imap_allow_plaintext = true
                    """
            } else {
                dovecot = nil
                maildir = folder.appendingPathComponent("Maildir").path
                for sub in ["new", "cur", "tmp"] {
                    try FileManager.default.createDirectory(atPath: maildir + "/" + sub, withIntermediateDirectories: true)
                }
                mail = "maildir = \"\(maildir)\""
            }
            config = folder.appendingPathComponent("bridgehead.toml").path
            let text = """
                [ldap]
                uri = "\(slapd.uri)"
                bind_dn = "\(slapd.rootDN)"
                password_file = "ldap.secret"
                state_dn = "ou=bridgehead,dc=example,dc=com"
                timeout = 60

                [mail]
                \(mail)
                \(extraMail)

                [agent]
                lock_file = "\(folder.path)/lock"
                \(transactions.map { "transactions = \($0)" } ?? "")
                \(agent)

                [[source]]
                id = "site-a"
                addresses = ["dra@site-a.example.com"]
                certificate = "\(pki.path("rsa.pem"))"
                naming = [{ from = "ou=SiteA,o=Org", to = "ou=site-a,dc=example,dc=com" },
                          { from = "ou=Shared,o=Org", to = "ou=shared,dc=example,dc=com" }]

                [[source]]
                id = "site-b"
                addresses = ["SMTP:dra@site-b.example.com"]
                certificate = "\(pki.path("ec.pem"))"
                naming = [{ from = "ou=SiteB,o=Org", to = "ou=shared,dc=example,dc=com" }]

                [[source]]
                id = "site-c"
                addresses = ["dra@site-c.example.com"]
                certificate = "\(pki.path("ca.pem"))"
                naming = [{ from = "ou=SiteC,o=Org", to = "ou=site-c,dc=example,dc=com" }]
                max_deletes = 2

                [[source]]
                id = "site-d"
                addresses = ["dra@site-d.example.com"]
                certificate = "\(pki.path("ca.pem"))"
                naming = [{ from = "ou=SiteD,o=Org", to = "ou=site-d,dc=example,dc=com" }]

                \(extraSources)

                """
            try Data(text.utf8).write(to: URL(fileURLWithPath: config))
        }

        deinit {
            dovecot?.stop()
            slapd.stop()
            try? FileManager.default.removeItem(at: folder)
        }

        /// A replication message: the entity (headers and the fixture's LDIF, CRLF), signed by openssl.
        func message(_ fixture: String, source: String, sequence: Int, signer: String, from: String? = nil, kind: String = "delta") throws -> [UInt8]
        {
            let ldif = try String(contentsOf: SyncEndToEndTests.fixtures.appendingPathComponent(fixture), encoding: .utf8)
            return try message(ldif: ldif, source: source, sequence: sequence, signer: signer, from: from, kind: kind)
        }

        /// The same, from LDIF text. `headers` go into the signed part (like Bridgehead-Destination),
        /// `outer` before the message's own headers (like a Subject).
        func message(
            ldif: String, source: String, sequence: Int, signer: String, from: String? = nil, kind: String = "delta", headers: [String] = [],
            outer: [String] = []
        ) throws -> [UInt8] {
            let entity =
                "Content-Type: application/ldif; charset=utf-8\nContent-Transfer-Encoding: 7bit\nBridgehead-Format: 1\n"
                + "Bridgehead-Source: \(source)\nBridgehead-Sequence: \(sequence)\nBridgehead-Kind: \(kind)\n"
                + headers.map { $0 + "\n" }.joined() + "\n" + ldif
            let signed = try pki.signWithOpenSSL(Array(entity.replacingOccurrences(of: "\n", with: "\r\n").utf8), signer: signer)
            var text = String(decoding: signed, as: UTF8.self)
            text = text.replacingOccurrences(of: "From: dra@site-a.example.com", with: "From: " + (from ?? "dra@\(source).example.com"))
            return Array(("Message-ID: <\(source).\(sequence).\(UUID().uuidString.prefix(6))@test>\n" + outer.map { $0 + "\n" }.joined()).utf8)
                + Array(text.utf8)
        }

        /// Delivers in the order given; each file one second older than the next, so that arrival order is known.
        @discardableResult
        func deliver(_ messages: [(name: String, bytes: [UInt8])]) throws -> [String] {
            var paths: [String] = []
            for (name, bytes) in messages {
                delivered += 1
                let path = try Maildir.deliver(bytes, to: maildir, name: "\(1_800_000_000 + delivered).M\(delivered).\(name)")
                let time = Date(timeIntervalSince1970: 1_800_000_000 + Double(delivered))
                try FileManager.default.setAttributes([.modificationDate: time], ofItemAtPath: path)
                paths.append(path)
            }
            return paths
        }

        /// One run of `bridgehead sync`. The server must survive every run: a dead slapd fails the test.
        func sync(_ extra: [String] = []) throws -> Command.Output {
            let output = try Command.run(CLITests.binary, ["sync", "--config", config] + extra)
            #expect(slapd.isRunning, "slapd died during `bridgehead sync \(extra.joined(separator: " "))`: \(output.stderr)")
            return output
        }

        /// Message file names per folder ("" is the drop itself), without Maildir flags.
        func folders() -> [String: [String]] {
            var result: [String: [String]] = [:]
            for folder in ["", ".Processed", ".Quarantine"] {
                let base = maildir + (folder.isEmpty ? "" : "/" + folder)
                let names = ["new", "cur"].flatMap { (try? FileManager.default.contentsOfDirectory(atPath: base + "/" + $0)) ?? [] }
                result[folder] = names.map { String($0.split(separator: ":").first ?? "") }.sorted()
            }
            return result
        }

        /// Every file under the Maildir with its bytes (names include flags), for byte-for-byte comparison.
        func dropBytes() throws -> [String: [UInt8]] {
            var result: [String: [UInt8]] = [:]
            let enumerator = FileManager.default.enumerator(atPath: maildir)
            while let relative = enumerator?.nextObject() as? String {
                // Dovecot's own index and UID list are the server's bookkeeping, not messages or flags.
                if (relative as NSString).lastPathComponent.hasPrefix("dovecot") { continue }
                let path = maildir + "/" + relative
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    result[relative] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                } else {
                    result[relative + "/"] = []
                }
            }
            return result
        }

        /// The directory without the agent's state entries.
        func snapshot() throws -> DirectorySnapshot {
            var snapshot = try DirectorySnapshot(ldif: try slapd.dump())
            snapshot.entries = snapshot.entries.filter { !$0.key.hasSuffix("ou=bridgehead,dc=example,dc=com") }
            return snapshot
        }

        func sequences() throws -> [String: String] {
            var result: [String: String] = [:]
            for entry in try DirectorySnapshot(ldif: try slapd.dump()).entries.values {
                guard let source = entry["bridgeheadsourceid"]?.first, let sequence = entry["bridgeheadsequence"]?.first else { continue }
                result[String(decoding: source, as: UTF8.self)] = String(decoding: sequence, as: UTF8.self)
            }
            return result
        }
    }

    /// The oracle: the seeds plus Fixtures/sync/oracle.ldif through ldapmodify on a fresh slapd; made
    /// once for all the scenario's variants.
    static let oracleSnapshot = Result { try oracle() }

    static func oracle() throws -> DirectorySnapshot {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-oracle-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let slapd = try Slapd(Slapd.Options(seeds: try World.seeds(folder)))
        defer { slapd.stop() }
        let applied = try slapd.ldapmodify(file: fixtures.appendingPathComponent("oracle.ldif").path)
        guard applied.status == 0 else { throw HarnessError(message: "ldapmodify of the oracle failed: \(applied.stderr)") }
        return try DirectorySnapshot(ldif: try slapd.dump())
    }

    struct Report: Decodable {
        struct Message: Decodable {
            var id: String
            var outcome: String
            var reason: String?
            var source: String?
            var sequence: Int?
            var changes: [Change]
        }
        struct Change: Decodable, Equatable {
            var operation: String
            var dn: String
            var newDN: String?
            var record: Int
        }
        var messages: [Message]
        var changes: Int
    }

    static func report(_ output: Command.Output) throws -> Report {
        try JSONDecoder().decode(Report.self, from: Data(output.stdoutBytes))
    }

    /// The whole scenario; returns nothing, checks everything.
    func scenario(imap: Bool, transactions: Bool? = nil) throws {
        let world = try World(imap: imap, transactions: transactions)
        var files: [String: String] = [:]
        func named(_ name: String, _ bytes: [UInt8]) -> (name: String, bytes: [UInt8]) {
            files[name] = name
            return (name, bytes)
        }
        let a2 = try world.message("a2.ldif", source: "site-a", sequence: 2, signer: "rsa")
        var tampered = String(decoding: a2, as: UTF8.self)
        tampered = tampered.replacingOccurrences(of: "title: Rear Admiral", with: "title: Rear Admirax")
        // Site A's messages in reverse order of sequence, a duplicate, and every kind of bad message.
        let messages: [(name: String, bytes: [UInt8])] = [
            // site-b's first message comes first: site-a #6 then finds its entry (and may not touch it).
            named("b1", try world.message("b1.ldif", source: "site-b", sequence: 1, signer: "ec")),
            named("a7", try world.message("a7.ldif", source: "site-a", sequence: 7, signer: "rsa")),
            named("a6-not-owned", try world.message("a6-not-owned.ldif", source: "site-a", sequence: 6, signer: "rsa")),
            named("a5-full", try world.message("a5-full.ldif", source: "site-a", sequence: 5, signer: "rsa", kind: "full")),
            named("a4", try world.message("a4.ldif", source: "site-a", sequence: 4, signer: "rsa")),
            named("a3", try world.message("a3.ldif", source: "site-a", sequence: 3, signer: "rsa")),
            named("a2", a2),
            named("a1", try world.message("a1.ldif", source: "site-a", sequence: 1, signer: "rsa")),
            named("a1-again", try world.message("a1.ldif", source: "site-a", sequence: 1, signer: "rsa")),
            named("b3-gapped", try world.message("b3.ldif", source: "site-b", sequence: 3, signer: "ec")),
            named("c1", try world.message("c1.ldif", source: "site-c", sequence: 1, signer: "site-c")),
            named("c2-deletes", try world.message("c2-deletes.ldif", source: "site-c", sequence: 2, signer: "site-c")),
            named("d1-out-of-scope", try world.message("d1-out-of-scope.ldif", source: "site-d", sequence: 1, signer: "site-d")),
            named("d2-malformed", try world.message("d2-malformed.ldif", source: "site-d", sequence: 2, signer: "site-d")),
            named("forged", try world.message("a7.ldif", source: "site-a", sequence: 8, signer: "stranger")),
            named("tampered", Array(tampered.utf8)),
            named("unknown-sender", try world.message("b2.ldif", source: "site-b", sequence: 2, signer: "ec", from: "mallory@evil.example")),
            named("unknown-source", try world.message("b2.ldif", source: "site-z", sequence: 1, signer: "ec")),
        ]
        try world.deliver(messages.map { ($0.name, $0.bytes) })

        // A dry run first: nothing anywhere changes, byte for byte.
        let directoryBefore = try world.slapd.dump(attributes: ["*", "+"])
        let dropBefore = try world.dropBytes()
        let imapBefore = world.dovecot.map { $0.files(in: "") }
        let dry = try world.sync(["--dry-run", "--format", "json"])
        #expect(dry.status == 1, "quarantines are foreseen: exit 1\n\(dry.stderr)")
        #expect(try world.slapd.dump(attributes: ["*", "+"]) == directoryBefore, "a dry run writes nothing to the directory")
        #expect(try world.dropBytes() == dropBefore, "a dry run moves and flags no message")
        #expect(world.dovecot.map { $0.files(in: "") } == imapBefore)
        #expect(!FileManager.default.fileExists(atPath: world.folder.appendingPathComponent("lock").path), "not even the lock file")
        let preview = try Self.report(dry)

        // The real run.
        let real = try world.sync(["--format", "json"])
        #expect(real.status == 1, "\(real.stderr)")
        let applied = try Self.report(real)
        func outcome(_ name: String, in report: Report) -> Report.Message? {
            report.messages.first { $0.id.hasSuffix("." + name) || $0.id.hasSuffix(name) }
        }
        if !imap {
            for name in files.keys.sorted() {
                let real = outcome(name, in: applied)
                let dry = outcome(name, in: preview)
                #expect(real?.outcome == dry?.outcome, "\(name): the dry run foresaw \(dry?.outcome ?? "-"), the run did \(real?.outcome ?? "-")")
                #expect(real?.changes == dry?.changes, "\(name): the dry run lists exactly the changes the run makes")
            }
        } else {
            // IMAP ids are UIDs: compare by source and sequence.
            for message in applied.messages where message.source != nil {
                let dry = preview.messages.first { $0.source == message.source && $0.sequence == message.sequence && $0.outcome == message.outcome }
                #expect(dry?.changes == message.changes, "\(message.source!) #\(message.sequence!): dry run and run differ")
            }
        }
        #expect(
            applied.messages.filter { $0.outcome == "applied" }.count == 7,
            "a1–a5, b1, c1: \(applied.messages.map { "\($0.source ?? "") #\($0.sequence ?? 0) \($0.outcome) \($0.reason ?? "")" })")
        let reasons = applied.messages.filter { $0.outcome == "quarantined" }.map { $0.reason ?? "" }
        for expected in [
            "belongs to site-b", "outside the subtrees of site-d", "not trusted", "changed after it was signed", "not an address of source site-b",
            "site-z", "LDIF",
        ] {
            #expect(reasons.contains { $0.contains(expected) }, "a quarantine reason mentions '\(expected)': \(reasons)")
        }
        #expect(reasons.count == 7, "\(reasons)")
        let held = applied.messages.filter { $0.outcome == "held" }
        #expect(held.contains { $0.source == "site-a" && $0.sequence == 7 && ($0.reason ?? "").contains("sequence 6") })
        #expect(held.contains { $0.source == "site-b" && $0.sequence == 3 && ($0.reason ?? "").contains("waits for sequence 2") })
        #expect(held.contains { $0.source == "site-c" && $0.sequence == 2 && ($0.reason ?? "").contains("threshold") })
        #expect(applied.messages.contains { $0.outcome == "duplicate" && $0.source == "site-a" && $0.sequence == 1 })

        if !imap {
            let folders = world.folders()
            func holds(_ folder: String, _ names: [String]) {
                for name in names {
                    #expect(folders[folder]?.contains { $0.hasSuffix("." + name) } == true, "\(name) is in '\(folder)': \(folders)")
                }
            }
            holds(".Processed", ["a1", "a1-again", "a2", "a3", "a4", "a5-full", "b1", "c1"])
            holds(".Quarantine", ["a6-not-owned", "d1-out-of-scope", "d2-malformed", "forged", "tampered", "unknown-sender", "unknown-source"])
            holds("", ["a7", "b3-gapped", "c2-deletes"])
            #expect(folders.values.map(\.count).reduce(0, +) == messages.count, "every message in exactly one place")
        } else {
            let dovecot = world.dovecot!
            #expect(dovecot.files(in: "").count == 3, "held: a7, b3, c2")
            #expect(dovecot.files(in: ".Processed").count == 8)
            #expect(dovecot.files(in: ".Quarantine").count == 7)
        }

        // The missing message arrives: the gap closes, both apply. Then an operator allows site-c's deletes.
        try world.deliver([("b2", try world.message("b2.ldif", source: "site-b", sequence: 2, signer: "ec"))])
        let second = try world.sync()
        #expect(second.status == 1, "site-c #2 still waits for an operator: \(second.stderr)")
        #expect(second.stdout.isEmpty, "a cron run prints only what needs a person, on stderr")
        #expect(second.stderr.contains("--allow-deletes site-c:2") && !second.stderr.contains("site-a #7"), "\(second.stderr)")
        let metrics = world.folder.appendingPathComponent("bridgehead.prom").path
        let third = try world.sync(["--allow-deletes", "site-c:2", "-v", "--metrics-file", metrics])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("site-c #2"), "-v shows the report")
        let textfile = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(textfile.contains("bridgehead_last_run_messages{outcome=\"applied\"} 1"), "\(textfile)")
        #expect(textfile.contains("bridgehead_last_run_changes 3") && textfile.contains("bridgehead_last_success_timestamp_seconds "))
        // Counters (Prometheus `_total`) count over every run the status file has seen: a run that
        // settles nothing leaves them as they were, where the last-run gauges go to 0.
        let value = { (text: String, sample: String) -> Double? in
            text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.dropFirst(sample.count + 1)) }
        }
        let appliedC = "bridgehead_messages_total{outcome=\"applied\",source=\"site-c\"}"
        #expect(textfile.contains("# TYPE bridgehead_messages_total counter"), "\(textfile)")
        #expect((value(textfile, appliedC) ?? 0) >= 2 && (value(textfile, "bridgehead_changes_total") ?? 0) >= 3, "\(textfile)")
        let fourth = try world.sync(["--metrics-file", metrics])
        #expect(fourth.status == 0 && fourth.stdout.isEmpty && fourth.stderr.isEmpty, "a good cron run is silent: \(fourth.stderr)")
        let after = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(value(after, appliedC) == value(textfile, appliedC) && after.contains("bridgehead_last_run_changes 0"), "\(after)")

        #expect(try world.sequences() == ["site-a": "5", "site-b": "3", "site-c": "2"])
        let oracle = try Self.oracleSnapshot.get()
        let result = try world.snapshot()
        let differences = result.differences(from: oracle)
        #expect(differences.isEmpty && result == oracle, "the directory equals the ldapmodify oracle:\n\(differences)")

        // status and quarantine list tell the same story.
        let status = try Command.run(CLITests.binary, ["status", "--config", world.config])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("site-a: last applied #5"), "\(status.stdout)")
        #expect(status.stdout.contains("1 held waiting for #6"), "\(status.stdout)")
        let list = try Command.run(CLITests.binary, ["quarantine", "list", "--config", world.config, "--format", "json"])
        #expect(list.status == 0, "\(list.stderr)")
        struct Quarantined: Decodable {
            var id: String
            var source: String?
            var sequence: Int?
            var reason: String
        }
        let quarantined = try JSONDecoder().decode([Quarantined].self, from: Data(list.stdoutBytes))
        #expect(quarantined.count == 7)
        #expect(quarantined.contains { $0.source == "site-a" && $0.sequence == 6 && $0.reason.contains("belongs to site-b") }, "\(quarantined)")
    }

    @Test func scenarioOverMaildir() throws { try scenario(imap: false) }

    @Test func scenarioOverDovecot() throws { try scenario(imap: true) }

    /// The default on OpenLDAP is the idempotent path: every operation alone (Permissive Modify), the
    /// state update last. This is the opt-in: one transaction per message with its state.
    @Test func scenarioWithTransactions() throws { try scenario(imap: false, transactions: true) }

    @Test func dryRunLDIFIsWhatTheRunDoesAndLdapmodifyAcceptsIt() throws {
        let world = try World()
        try world.deliver([
            ("a2", try world.message("a2.ldif", source: "site-a", sequence: 2, signer: "rsa")),
            ("a1", try world.message("a1.ldif", source: "site-a", sequence: 1, signer: "rsa")),
            ("a3", try world.message("a3.ldif", source: "site-a", sequence: 3, signer: "rsa")),
        ])
        let preview = try world.sync(["--dry-run", "--format", "ldif"])
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stdout.contains("changetype: add") && preview.stdout.contains("# site-a sequence 3"))
        // The preview, through ldapmodify on a second server, gives what the real run gives on the first.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-preview-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let other = try Slapd(Slapd.Options(seeds: try World.seeds(folder)))
        defer { other.stop() }
        let file = folder.appendingPathComponent("preview.ldif").path
        try Data(preview.stdoutBytes).write(to: URL(fileURLWithPath: file))
        let applied = try other.ldapmodify(file: file)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try world.sync().status == 0)
        let ours = try world.snapshot()
        let theirs = try DirectorySnapshot(ldif: try other.dump())
        #expect(ours == theirs, "\(ours.differences(from: theirs))")
    }

    @Test func validateAsksTheServerAndMaxMessagesLeavesTheRest() throws {
        let world = try World()
        try world.deliver([("a1", try world.message("a1.ldif", source: "site-a", sequence: 1, signer: "rsa"))])
        #expect(try world.sync().status == 0)
        // An add the server refuses by schema (inetOrgPerson needs sn): the plan is fine, the server is not.
        let bad =
            "version: 1\n\ndn: cn=Fine,ou=SiteA,o=Org\nchangetype: add\nobjectClass: organizationalRole\ncn: Fine\n\n"
            + "dn: cn=No Surname,ou=SiteA,o=Org\nchangetype: add\nobjectClass: inetOrgPerson\ncn: No Surname\n"
        try world.deliver([("bad", try world.message(ldif: bad, source: "site-a", sequence: 2, signer: "rsa"))])
        let checked = try world.sync(["--dry-run", "--validate"])
        #expect(checked.stdout.contains("server check: objectClassViolation"), "\(checked.stdout)")
        let before = try world.snapshot()
        let real = try world.sync(["--format", "json"])
        #expect(real.status == 1)
        let report = try Self.report(real)
        #expect(report.messages.first?.outcome == "quarantined")
        #expect(report.messages.first?.reason?.contains("objectClassViolation") == true, "\(report.messages)")
        #expect(try world.snapshot() == before, "nothing of the refused message was applied, not even its valid first record")
        #expect(try world.sequences() == ["site-a": "1"])

        // In steps (it deletes, which slapd 2.5 cannot hold in a transaction): the refusal in the last
        // step is found before the first is applied, and nothing is.
        let stepped =
            "version: 1\n\ndn: cn=Fine,ou=SiteA,o=Org\nchangetype: add\nobjectClass: organizationalRole\ncn: Fine\n\n"
            + "dn: cn=Alan Turing,ou=people,ou=SiteA,o=Org\nchangetype: delete\n\n"
            + "dn: cn=Grace Hopper,ou=people,ou=SiteA,o=Org\nchangetype: modify\nreplace: sn\n-\n"
        try world.deliver([("stepped", try world.message(ldif: stepped, source: "site-a", sequence: 2, signer: "rsa"))])
        let refused = try world.sync(["--format", "json"])
        #expect(refused.status == 1)
        let steppedReport = try Self.report(refused)
        #expect(steppedReport.messages.first?.outcome == "quarantined")
        #expect(steppedReport.messages.first?.reason?.contains("objectClassViolation") == true, "\(steppedReport.messages)")
        #expect(steppedReport.messages.first?.reason?.contains("nothing was") == true, "\(steppedReport.messages)")
        #expect(try world.snapshot() == before, "neither the add before the delete nor the delete was applied")

        // A delete of an entry that keeps entries below it, after a step that would have been applied.
        let parent =
            "version: 1\n\ndn: cn=Grace Hopper,ou=people,ou=SiteA,o=Org\nchangetype: modify\nreplace: title\ntitle: Admiral\n-\n\n"
            + "dn: cn=Alan Turing,ou=people,ou=SiteA,o=Org\nchangetype: delete\n\n"
            + "dn: ou=people,ou=SiteA,o=Org\nchangetype: delete\n"
        try world.deliver([("parent", try world.message(ldif: parent, source: "site-a", sequence: 2, signer: "rsa"))])
        let nonLeaf = try Self.report(try world.sync(["--format", "json"]))
        #expect(nonLeaf.messages.first?.outcome == "quarantined")
        #expect(nonLeaf.messages.first?.reason?.contains("entries below it remain") == true, "\(nonLeaf.messages)")
        #expect(try world.snapshot() == before, "Grace keeps her title: nothing was applied")

        let more = try World()
        try more.deliver([
            ("b1", try more.message("b1.ldif", source: "site-b", sequence: 1, signer: "ec")),
            ("b2", try more.message("b2.ldif", source: "site-b", sequence: 2, signer: "ec")),
            ("b3", try more.message("b3.ldif", source: "site-b", sequence: 3, signer: "ec")),
        ])
        let one = try more.sync(["--max-messages", "1", "--format", "json"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(try Self.report(one).messages.map(\.outcome) == ["applied", "deferred", "deferred"])
        #expect(try more.sequences() == ["site-b": "1"])
        let status = try Command.run(CLITests.binary, ["status", "--config", more.config])
        #expect(status.stdout.contains("2 ready"), "\(status.stdout)")
        #expect(try more.sync().status == 0)
        #expect(try more.sequences() == ["site-b": "3"])
    }

    @Test func releaseMovesAQuarantinedMessageBackIntoTheDrop() throws {
        let world = try World()
        // site-a #1 before the source is trusted... simulated: an unknown source first.
        try world.deliver([("z1", try world.message("b1.ldif", source: "site-z", sequence: 1, signer: "ec"))])
        #expect(try world.sync().status == 1)
        let list = try Command.run(CLITests.binary, ["quarantine", "list", "--config", world.config])
        #expect(list.stdout.contains("claims to be site-z #1, not verified"), "\(list.stdout)")
        let id = try #require(world.folders()[".Quarantine"]?.first)
        let release = try Command.run(CLITests.binary, ["quarantine", "release", id, "--config", world.config])
        #expect(release.status == 0, "\(release.stderr)")
        #expect(world.folders()[""] == [id] && world.folders()[".Quarantine"] == [])
        let again = try Command.run(CLITests.binary, ["quarantine", "release", "no-such-id", "--config", world.config])
        #expect(again.status == 65 && again.stderr.contains("no message no-such-id"))
    }

    @Test func aGapHeldPastTheTimeoutIsReportedAndExits1() throws {
        let world = try World(agent: "gap_timeout_hours = 1")
        let paths = try world.deliver([("b2", try world.message("b2.ldif", source: "site-b", sequence: 2, signer: "ec"))])
        let quiet = try world.sync()
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "a fresh gap is not a problem yet: \(quiet.stderr)")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: paths[0])
        let late = try world.sync()
        #expect(late.status == 1)
        #expect(late.stderr.contains("held site-b #2") && late.stderr.contains("waits for sequence 1"), "\(late.stderr)")
    }

    @Test func aSecondRunExits75WhileTheFirstHoldsTheLock() throws {
        let world = try World()
        let lock = try RunLock(path: world.folder.appendingPathComponent("lock").path)
        defer { lock.release() }
        let output = try world.sync()
        #expect(output.status == 75 && output.stderr.contains("holds"), "\(output.stderr)")
    }
}
