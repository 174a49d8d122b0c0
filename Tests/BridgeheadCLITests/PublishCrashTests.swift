import Foundation
import TestSupport
import Testing

/// `bridgehead publish` killed (SIGKILL) at random instants of a large batch and run again each time:
/// the receiver then applies every change once, with no gap, and one sequence never carries two
/// different contents.
@Suite(.serialized, .ownThread) struct PublishCrashTests {
    @Test func killedTwentyTimesNothingLostNothingTwice() throws {
        let sites = try PublishEndToEndTests.Sites(maxChanges: 10)
        try sites.change("dn: ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n")
        #expect(try sites.publish().status == 0)
        var generator = SeededGenerator(seed: 20)
        var alive: [Int] = []
        var serial = 0
        /// The next `count` changes: 60 % adds, 30 % modifies, 10 % deletes.
        func changes(_ count: Int) -> String {
            var ldif = ""
            for _ in 0..<count {
                serial += 1
                if serial % 10 == 9, !alive.isEmpty {
                    let target = alive.remove(at: Int.random(in: 0..<alive.count, using: &generator))
                    ldif += "dn: cn=p\(target),ou=people,dc=example,dc=com\nchangetype: delete\n\n"
                } else if serial % 10 >= 6, !alive.isEmpty {
                    let target = alive[Int.random(in: 0..<alive.count, using: &generator)]
                    ldif += "dn: cn=p\(target),ou=people,dc=example,dc=com\nchangetype: modify\nreplace: description\ndescription: \(serial)\n\n"
                } else {
                    ldif += "dn: cn=p\(serial),ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\ncn: p\(serial)\nsn: S\n\n"
                    alive.append(serial)
                }
            }
            return ldif
        }

        // Twenty times: more changes at site A, then a publish run killed at a random instant.
        var kills = 0
        for _ in 0..<20 {
            try sites.change(changes(300))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLITests.binary)
            process.arguments = ["publish", "--config", sites.publisherConfig]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 10_000..<300_000, using: &generator))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
        }
        let last = try sites.publish()
        #expect(last.status == 0, "\(last.stderr)")
        #expect(kills >= 10, "only \(kills) runs were killed mid-way: the batch is too small to test anything")

        let synced = try sites.sync(["--format", "json"])
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(!synced.stdout.contains("\"quarantined\"") && !synced.stdout.contains("\"held\""), "\(synced.stdout.prefix(2000))")
        try sites.expectEqual("after \(kills) kills")

        // Every sequence archived once, 1…N without a gap; what reached the receiver twice is the same bytes.
        let archived = try FileManager.default.contentsOfDirectory(atPath: sites.outbox + "/cur").sorted()
        #expect(archived.compactMap { Int($0.prefix(16)) } == Array(1...archived.count))
        var seen: [String: Data] = [:]
        let processed = sites.drop + "/.Processed/cur"
        for file in try FileManager.default.contentsOfDirectory(atPath: processed) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: processed + "/" + file))
            let text = String(decoding: bytes.prefix(2000), as: UTF8.self)
            guard let subject = text.split(separator: "\r\n").first(where: { $0.hasPrefix("Subject:") }).map(String.init) else { continue }
            if let earlier = seen[subject] { #expect(earlier == bytes, "\(subject) arrived with two different contents") }
            seen[subject] = bytes
        }
        #expect(seen.count == archived.count, "every archived message reached the receiver")
    }
}
