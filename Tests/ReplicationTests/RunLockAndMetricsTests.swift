import Foundation
import Replication
import TestSupport
import Testing

struct RunLockAndMetricsTests {
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
}
