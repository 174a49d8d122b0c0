import Foundation
import LDAPModel
import MailDrop
import TestSupport
import Testing

/// Outages lose nothing: the directory server stopping mid-run, the IMAP connection cut mid-fetch and
/// mid-move, a full or read-only Maildir, a stop signal, two agents at once, a busy or read-only
/// server. Each run ends with a documented exit code, every message is in exactly one place, nothing
/// is applied twice, and the next run converges to the ldapmodify oracle.
@Suite(.serialized, .ownThread) struct SyncOutageTests {
    /// 4,000 changes in 16 messages of 250: long enough to interrupt, short enough to repeat.
    static let workload = ReplicationWorkload(changes: 4_000, perMessage: 250)
    typealias Trial = SyncCrashSeriesTests.Trial

    static func withoutState(_ snapshot: DirectorySnapshot) -> DirectorySnapshot { SyncCrashSeriesTests.withoutState(snapshot) }

    /// Starts `sync` in the background; returns the process. Its standard error goes to CONFIG.stderr.
    static func start(_ config: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["sync", "--config", config]
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: config + ".stderr", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: config + ".stderr")
        try process.run()
        return process
    }

    /// Waits until `condition` holds (or `seconds` pass).
    static func wait(_ seconds: Double = 60, until condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition(), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    }

    /// The end every scenario must reach: a final run exits 0, every message processed once, nothing
    /// quarantined, the directory equal to the oracle, slapd alive.
    static func converges(_ trial: Trial, _ signed: SyncCrashSeriesTests.Signed, _ note: String) throws {
        let last = try Command.run(CLITests.binary, ["sync", "--config", trial.config])
        #expect(last.status == 0, "\(note): the next run: \(last.stderr)")
        #expect(trial.places() == ["": 0, "/.Processed": signed.messages.count, "/.Quarantine": 0], "\(note): \(trial.places())")
        let result = withoutState(try DirectorySnapshot(ldif: try trial.slapd.dump()))
        #expect(result.differences(from: signed.oracle).isEmpty, "\(note): differs from the oracle:\n\(result.differences(from: signed.oracle))")
        #expect(trial.slapd.isRunning)
    }

    @Test func slapdStoppedMidRunAndStartedAgain() throws {
        let signed = try SyncCrashSeriesTests.Signed(Self.workload)
        let trial = try Trial(signed)
        let run = try Self.start(trial.config)
        Self.wait { trial.processed() >= 4 }
        try trial.slapd.halt()
        run.waitUntilExit()
        #expect(run.terminationStatus == 69, "the server went away: 69, try again later (got \(run.terminationStatus))")
        #expect(trial.places()["/.Quarantine"] == 0, "a dead server is never a message's fault")
        try trial.slapd.resume()
        try Self.converges(trial, signed, "after slapd came back")
    }

    @Test func sigtermEndsTheRunBetweenSteps() throws {
        let signed = try SyncCrashSeriesTests.Signed(Self.workload)
        let trial = try Trial(signed)
        let run = try Self.start(trial.config)
        Self.wait { trial.processed() >= 3 }
        kill(run.processIdentifier, SIGTERM)
        run.waitUntilExit()
        #expect(run.terminationReason == .exit && run.terminationStatus == 75, "stopped cleanly: 75 (got \(run.terminationStatus))")
        let places = trial.places()
        #expect(places.values.reduce(0, +) == signed.messages.count && places["/.Quarantine"] == 0, "\(places)")
        #expect(places[""]! > 0, "it stopped before the end")
        // The lock was released: the next run takes it and finishes the work.
        try Self.converges(trial, signed, "after SIGTERM")
    }

    @Test func twoAgentsWithTheirOwnLocksOnOneDirectoryAndOneMailbox() throws {
        let signed = try SyncCrashSeriesTests.Signed(Self.workload)
        let trial = try Trial(signed)
        let first = try Self.start(trial.config)
        let second = try Self.start(try trial.secondAgent())
        first.waitUntilExit()
        second.waitUntilExit()
        for (name, process) in [("first", first), ("second", second)] {
            let stderr = (try? String(contentsOfFile: (process.arguments?.last ?? "") + ".stderr", encoding: .utf8)) ?? ""
            #expect(
                [0, 75].contains(process.terminationStatus),
                "\(name) agent: 0, or 75 when the other was applying (\(process.terminationStatus)): \(stderr)")
        }
        #expect(trial.places()["/.Quarantine"] == 0, "a race between agents quarantines nothing: \(trial.places())")
        try Self.converges(trial, signed, "after two agents")
    }

    /// A tmpfs of `size` (and `inodes`, when given) at a new directory; nil (and an issue recorded) when
    /// mounting is not possible.
    static func tmpfs(_ size: String, inodes: Int? = nil) throws -> String? {
        let point = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-fs-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let mounted = try Command.run("mount", ["-t", "tmpfs", "-o", "size=\(size)" + (inodes.map { ",nr_inodes=\($0)" } ?? ""), "tmpfs", point])
        guard mounted.status == 0 else {
            Issue.record("this test mounts a small tmpfs and needs root with CAP_SYS_ADMIN: \(mounted.stderr)")
            return nil
        }
        return point
    }

    static func unmount(_ point: String) {
        _ = try? Command.run("umount", ["-l", point])
        try? FileManager.default.removeItem(atPath: point)
    }

    @Test func aFullMaildirWhenSettling() throws {
        let signed = try SyncCrashSeriesTests.Signed(Self.workload)
        guard let point = try Self.tmpfs("64m", inodes: 64) else { return }
        defer { Self.unmount(point) }
        let trial = try Trial(signed, maildir: point + "/Maildir")
        // Fill the file system, blocks and inodes: settling creates .Processed and its folders.
        let filler = point + "/filler"
        _ = try Command.run("dd", ["if=/dev/zero", "of=\(filler)", "bs=64k"])
        var inode = 0
        while FileManager.default.createFile(atPath: point + "/inode\(inode)", contents: nil), inode < 1000 { inode += 1 }
        let full = try Command.run(CLITests.binary, ["sync", "--config", trial.config])
        #expect(full.status == 69, "no room to settle: 69 (got \(full.status): \(full.stderr))")
        #expect(full.stderr.contains("cannot create the folder") && full.stderr.contains(".Processed"), "\(full.stderr)")
        #expect(trial.places()[""] == signed.messages.count, "every message still in the drop")
        try FileManager.default.removeItem(atPath: filler)
        for index in 0...inode { try? FileManager.default.removeItem(atPath: point + "/inode\(index)") }
        try Self.converges(trial, signed, "after room was made")
    }

    @Test func aReadOnlyMaildir() throws {
        let signed = try SyncCrashSeriesTests.Signed(Self.workload)
        guard let point = try Self.tmpfs("64m") else { return }
        defer { Self.unmount(point) }
        let trial = try Trial(signed, maildir: point + "/Maildir")
        try #require(try Command.run("mount", ["-o", "remount,ro", point]).status == 0)
        let readOnly = try Command.run(CLITests.binary, ["sync", "--config", trial.config])
        #expect(readOnly.status == 69, "cannot settle: 69 (got \(readOnly.status): \(readOnly.stderr))")
        #expect(readOnly.stderr.contains("cannot create the folder") && readOnly.stderr.contains("read only"), "\(readOnly.stderr)")
        #expect(trial.places()[""] == signed.messages.count)
        try #require(try Command.run("mount", ["-o", "remount,rw", point]).status == 0)
        try Self.converges(trial, signed, "after the Maildir became writable")
    }

    @Test func aReadOnlyDirectoryServerIsNotTheMessagesFault() throws {
        let signed = try SyncCrashSeriesTests.Signed(ReplicationWorkload(changes: 600, perMessage: 200))
        let trial = try Trial(signed)
        try trial.slapd.setReadOnly(true)
        let refused = try Command.run(CLITests.binary, ["sync", "--config", trial.config])
        #expect(refused.status == 69, "unwillingToPerform from a read-only server: 69 (got \(refused.status): \(refused.stderr))")
        #expect(refused.stderr.contains("unwillingToPerform"), "\(refused.stderr)")
        #expect(trial.places() == ["": signed.messages.count, "/.Processed": 0, "/.Quarantine": 0], "\(trial.places())")
        try trial.slapd.setReadOnly(false)
        try Self.converges(trial, signed, "after the server became writable")
    }

    /// A full message of a source owning more entries than slapd's default size limit, applied by an
    /// agent bound as an ordinary user (not the rootdn): the owned entries are read page by page.
    @Test func aFullMessageOfMoreThanFiveHundredOwnedEntriesAsANonRootUser() throws {
        let signed = try SyncCrashSeriesTests.Signed(ReplicationWorkload(changes: 700, perMessage: 700, deleteShare: 0))
        let options = Slapd.Options(seeds: [CLITests.root.appendingPathComponent("examples/directory.ldif").path], limitedUser: true)
        let trial = try Trial(signed, slapd: options)
        let config = try String(contentsOfFile: trial.config, encoding: .utf8)
            .replacingOccurrences(of: "bind_dn = \"\(trial.slapd.rootDN)\"", with: "bind_dn = \"\(trial.slapd.agentDN ?? "")\"")
            .replacingOccurrences(of: "password_file = \"ldap.secret\"", with: "password_file = \"\(trial.slapd.agentPasswordFile ?? "")\"")
        try Data(config.utf8).write(to: URL(fileURLWithPath: trial.config))
        let first = try Command.run(CLITests.binary, ["sync", "--config", trial.config])
        #expect(first.status == 0, "\(first.stderr)")
        // Everything the source owns, once more, as a full message: 702 owned entries, none changed.
        var everything = "version: 1\n"
        for (dn, attributes) in signed.oracle.entries where dn.hasSuffix("ou=site-a,dc=example,dc=com") {
            everything += "\ndn: \(dn.replacingOccurrences(of: "ou=site-a,dc=example,dc=com", with: "ou=SiteA,o=Org"))\n"
            for (name, values) in attributes.sorted(by: { $0.key < $1.key }) where name != "bridgeheadowner" {
                for value in values where !(name == "objectclass" && value == Array("bridgeheadReplicated".utf8)) {
                    everything += "\(name):: \(Data(value).base64EncodedString())\n"
                }
            }
        }
        let entity =
            "Content-Type: application/ldif; charset=utf-8\nContent-Transfer-Encoding: 7bit\nBridgehead-Format: 1\n"
            + "Bridgehead-Source: site-a\nBridgehead-Sequence: \(signed.messages.count + 1)\nBridgehead-Kind: full\n\n" + everything
        let full = try signed.pki.signWithOpenSSL(Array(entity.replacingOccurrences(of: "\n", with: "\r\n").utf8), signer: "rsa")
        try Maildir.deliver(full, to: trial.maildir, name: "1900000000.M1.full")
        let again = try Command.run(CLITests.binary, ["sync", "--config", trial.config, "--format", "json"])
        #expect(again.status == 0, "\(again.stderr)")
        let report = try SyncEndToEndTests.report(again)
        #expect(report.messages.first?.outcome == "applied" && report.changes == 0, "nothing to change, nothing deleted: \(report.messages)")
        var result = Self.withoutState(try DirectorySnapshot(ldif: try trial.slapd.dump()))
        result.entries[DN("cn=agent,dc=example,dc=com")!.normalized] = nil
        #expect(result.differences(from: signed.oracle).isEmpty, "\(result.differences(from: signed.oracle))")
    }

    /// The IMAP connection cut by the network: in the middle of fetching a message (the server had sent
    /// part of it), or when the client asks to move a message to Processed (the command never arrives).
    @Test(arguments: [CuttingProxy.Cut.afterServerBytes(6_000), .onClientText("MOVE", occurrence: 2)])
    func imapConnectionCut(_ cut: CuttingProxy.Cut) throws {
        let world = try SyncEndToEndTests.World(imap: true)
        let dovecot = try #require(world.dovecot)
        let proxy = try CuttingProxy(to: dovecot.port, cut: cut)
        let config = try String(contentsOfFile: world.config, encoding: .utf8)
            .replacingOccurrences(of: "imap://127.0.0.1:\(dovecot.port)/", with: "imap://127.0.0.1:\(proxy.port)/")
        try Data(config.utf8).write(to: URL(fileURLWithPath: world.config))
        let fixtures = SyncForesightTests.fixtures
        var messages: [(name: String, bytes: [UInt8])] = []
        for (index, name) in ["a1", "a2", "a3", "a4"].enumerated() {
            let ldif = try String(contentsOf: fixtures.appendingPathComponent(name + ".ldif"), encoding: .utf8)
            messages.append((name, try world.message(ldif: ldif, source: "site-a", sequence: index + 1, signer: "rsa")))
        }
        try world.deliver(messages)
        let cutRun = try world.sync()
        #expect(proxy.didCut, "the connection was cut")
        // The drop reconnects once after a drop: the run may finish, or stop with 69 and nothing lost.
        #expect([0, 69].contains(cutRun.status), "\(cutRun.status): \(cutRun.stderr)")
        let again = try world.sync()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(dovecot.files(in: "").isEmpty && dovecot.files(in: ".Quarantine").isEmpty)
        #expect(dovecot.files(in: ".Processed").count == 4, "every message once: \(dovecot.files(in: ".Processed"))")
        #expect(try world.sequences() == ["site-a": "4"])
        let team = try DirectorySnapshot(ldif: try world.slapd.dump()).entries[DN("cn=team,ou=site-a,dc=example,dc=com")!.normalized]
        #expect(team?["member"]?.count == 4, "message 4 applied once, on top of 1–3")
    }
}
