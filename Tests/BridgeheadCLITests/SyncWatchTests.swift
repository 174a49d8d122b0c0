import Foundation
import MailDrop
import TestSupport
import Testing

/// `bridgehead sync --watch`: one process stays running; messages delivered one by one (into a real
/// Dovecot, which tells the watcher over IMAP IDLE; or into a Maildir, watched with inotify) are
/// applied within seconds, without a restart; SIGTERM ends it cleanly.
@Suite(.serialized, .ownThread) struct SyncWatchTests {
    /// Message `n` of site-a: the first creates site A's subtree, each adds one person.
    static func ldif(_ number: Int) -> String {
        var text = ""
        if number == 1 { text += "dn: ou=SiteA,o=Org\nchangetype: add\nobjectClass: organizationalUnit\nou: SiteA\n\n" }
        return text + "dn: cn=watch\(number),ou=SiteA,o=Org\nchangetype: add\nobjectClass: inetOrgPerson\ncn: watch\(number)\nsn: W\n"
    }

    /// Whether cn=watchN is in the directory.
    static func applied(_ world: SyncEndToEndTests.World, _ number: Int) throws -> Bool {
        let output = try Command.run(
            "/usr/bin/ldapsearch",
            [
                "-LLL", "-x", "-H", world.slapd.uri, "-D", world.slapd.rootDN, "-w", world.slapd.rootPassword, "-b",
                "cn=watch\(number),ou=site-a,dc=example,dc=com", "-s", "base", "1.1",
            ])
        return output.status == 0 && output.stdout.contains("dn: ")
    }

    /// Delivers `count` messages one at a time into the running watcher and measures, for each, the
    /// time from its delivery to its change being in the directory; then stops the watcher.
    func deliverOneByOne(imap: Bool, count: Int) throws -> [Double] {
        let world = try SyncEndToEndTests.World(imap: imap)
        let messages = try (1...count).map { try world.message(ldif: Self.ldif($0), source: "site-a", sequence: $0, signer: "rsa") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["sync", "--config", world.config, "--watch", "--scan-interval", "600"]
        let errors = world.folder.appendingPathComponent("watch.stderr")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 2)  // its first run (of an empty drop) and the watcher's start
        var delays: [Double] = []
        for (index, bytes) in messages.enumerated() {
            let started = Date()
            try Maildir.deliver(bytes, to: world.maildir)
            var done = false
            while !done, Date().timeIntervalSince(started) < 60, process.isRunning {
                done = try Self.applied(world, index + 1)
                if !done { Thread.sleep(forTimeInterval: 0.02) }
            }
            let said = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            try #require(done, "message \(index + 1) applied by the running watcher within 60 s; it said: \(said.suffix(2000))")
            delays.append(Date().timeIntervalSince(started))
        }
        #expect(process.isRunning, "the same process applied all of them")
        kill(process.processIdentifier, SIGTERM)
        let stopping = Date()
        while process.isRunning, Date().timeIntervalSince(stopping) < 15 { Thread.sleep(forTimeInterval: 0.05) }
        #expect(!process.isRunning, "SIGTERM ends it")
        if !process.isRunning { #expect(process.terminationStatus == 0 && process.terminationReason == .exit, "a clean end") }
        let processed = (world.dovecot?.files(in: ".Processed").count) ?? Self.count(world.maildir + "/.Processed")
        #expect(processed == count, "every message settled in Processed")
        return delays
    }

    static func count(_ maildir: String) -> Int {
        ["new", "cur"].reduce(0) { $0 + ((try? FileManager.default.contentsOfDirectory(atPath: maildir + "/" + $1).count) ?? 0) }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
    }

    @Test func overDovecotWithIMAPIdle() throws {
        let delays = try deliverOneByOne(imap: true, count: 20)
        print(
            "SyncWatchTests: 20 messages into Dovecot, delivery to applied: median \(String(format: "%.3f", Self.median(delays))) s, "
                + "max \(String(format: "%.3f", delays.max() ?? 0)) s")
    }

    @Test func aMaildirWatchedWithInotify() throws {
        let delays = try deliverOneByOne(imap: false, count: 5)
        print("SyncWatchTests: 5 messages into a Maildir, delivery to applied: median \(String(format: "%.3f", Self.median(delays))) s")
    }
}
