import Foundation
import Replication
import RunSupport
import TestSupport
import Testing

@Suite(.ownThread) struct RunLockAndMetricsTests {
    @Test func aSecondRunIsRefusedAtOnce() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-lock-\(UUID().uuidString)/lock").path
        let first = try RunLock(path: path)
        let started = Date()
        #expect(throws: RunLock.Failure.held(path)) { try RunLock(path: path) }
        #expect(Date().timeIntervalSince(started) < 1, "never waits")
        first.release()
        let second = try RunLock(path: path)
        second.release()
    }

    @Test func aKilledHolderLeavesNoLock() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-lock-\(UUID().uuidString)").path
        // Another process (one process: perl) holds the lock, and is then killed.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/perl")
        holder.arguments = ["-MFcntl=:flock", "-e", "open(my $f, '>>', $ARGV[0]) or die; flock($f, LOCK_EX) or die; sleep 30", path]
        try holder.run()
        var held = false
        for _ in 0..<50 {
            if (try? RunLock(path: path)) == nil { held = true; break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(held, "the other process holds it")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let mine = try RunLock(path: path)
        mine.release()
    }

    @Test func unusableLockPathIsAConfigurationProblem() {
        #expect(throws: RunLock.Failure.self) { try RunLock(path: "/proc/bridgehead/lock") }
    }

    @Test func metricsTextfileIsWrittenWhole() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-\(UUID().uuidString).prom").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let metrics = [
            MetricsFile.Metric(
                name: "bridgehead_messages_total", help: "Messages settled by the last run, by outcome.", type: "gauge",
                samples: [(["outcome": "applied", "source": "site-a"], 3), (["outcome": "held", "source": "site \"b\""], 1)]),
            MetricsFile.Metric(
                name: "bridgehead_last_success_timestamp_seconds", help: "When a run last succeeded.", samples: [([:], 1_800_000_000)]),
        ]
        try MetricsFile(path: path).write(metrics)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            text == """
                # HELP bridgehead_messages_total Messages settled by the last run, by outcome.
                # TYPE bridgehead_messages_total gauge
                bridgehead_messages_total{outcome="applied",source="site-a"} 3
                bridgehead_messages_total{outcome="held",source="site \\"b\\""} 1
                # HELP bridgehead_last_success_timestamp_seconds When a run last succeeded.
                # TYPE bridgehead_last_success_timestamp_seconds gauge
                bridgehead_last_success_timestamp_seconds 1800000000

                """)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent).filter {
            $0.contains(".tmp.") && $0.hasPrefix((path as NSString).lastPathComponent)
        }
        #expect(leftovers.isEmpty)
    }

    @Test func linksAndDirectoriesOthersMayWriteAreRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let victim = folder.appendingPathComponent("victim").path
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))

        // A lock file planted as a link to another file: refused, the other file untouched.
        let lock = folder.appendingPathComponent("lock").path
        try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: victim)
        do {
            _ = try RunLock(path: lock)
            Issue.record("a symbolic link was taken as the lock")
        } catch {
            #expect("\(error)".contains("symbolic link"), "\(error)")
        }
        // The metrics textfile and the status file: a link at their name is replaced, not followed.
        let metrics = folder.appendingPathComponent("bridgehead.prom").path
        try FileManager.default.createSymbolicLink(atPath: metrics, withDestinationPath: victim)
        try MetricsFile(path: metrics).write([MetricsFile.Metric(name: "x", help: "x", samples: [([:], 1)])])
        let status = folder.appendingPathComponent("status.json").path
        try FileManager.default.createSymbolicLink(atPath: status, withDestinationPath: victim)
        try SafeFile.write(Array("{}".utf8), to: status)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        for path in [metrics, status] {
            let type = try FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType
            #expect(type == .typeRegular, "\(path) is a file of its own now")
        }

        // A directory anyone may write (and not sticky): someone could swap the files; refused.
        let shared = folder.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        chmod(shared.path, 0o777)
        #expect(throws: RunLock.Failure.self) { try RunLock(path: shared.appendingPathComponent("lock").path) }
        #expect(throws: SafeFile.Failure.self) { try SafeFile.write([1], to: shared.appendingPathComponent("status.json").path) }
        // Sticky, like /run/lock and /tmp: fine.
        chmod(shared.path, 0o1777)
        let lockInSticky = try RunLock(path: shared.appendingPathComponent("lock").path)
        lockInSticky.release()
        #expect(SafeFile.exposure(of: victim) != nil, "a 0644 file is readable by others")
        chmod(victim, 0o600)
        #expect(SafeFile.exposure(of: victim) == nil)
    }
}
