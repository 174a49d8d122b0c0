import Foundation

/// A throwaway Dovecot for one test, started by `scripts/dovecot-sandbox` on 127.0.0.1 in a temporary
/// directory and stopped (and the directory removed) when the value goes away or `stop()` is called.
public final class Dovecot: @unchecked Sendable {
    public let directory: URL
    public let port: Int
    public let imapsPort: Int?
    public let user: String
    public let password: String
    /// The user's Maildir on the server side: deliver into its new/ folder.
    public let maildir: String
    public let caFile: String?
    private let lock = NSLock()
    private var running = true

    public static var script: String { Slapd.repositoryRoot.appendingPathComponent("scripts/dovecot-sandbox").path }

    public init(tls: Bool = false) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-dovecot-\(UUID().uuidString.prefix(8))")
        let output = try Command.run(Self.script, ["start", directory.path] + (tls ? ["--tls"] : []))
        guard output.status == 0 else {
            try? FileManager.default.removeItem(at: directory)
            throw HarnessError(message: "dovecot-sandbox start failed (\(output.status)): \(output.stderr)")
        }
        var values: [String: String] = [:]
        for line in output.stdout.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        self.directory = directory
        port = Int(values["DOVECOT_PORT"] ?? "") ?? 0
        imapsPort = Int(values["DOVECOT_IMAPS_PORT"] ?? "")
        user = values["DOVECOT_USER"] ?? ""
        password = values["DOVECOT_PASSWORD"] ?? ""
        maildir = values["DOVECOT_MAILDIR"] ?? ""
        caFile = values["DOVECOT_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    deinit { stop() }

    public func stop() {
        lock.lock()
        let wasRunning = running
        running = false
        lock.unlock()
        guard wasRunning else { return }
        _ = try? Command.run(Self.script, ["stop", directory.path])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Ends the user's IMAP sessions from the server side (`doveadm kick`).
    public func kickSessions() throws {
        let output = try Command.run("doveadm", ["-c", directory.appendingPathComponent("dovecot.conf").path, "kick", user])
        guard output.status == 0 else { throw HarnessError(message: "doveadm kick: \(output.stderr)") }
    }

    /// The files in a folder of the user's Maildir ("" for INBOX, ".Processed", …), in new/ and cur/.
    public func files(in folder: String) -> [String] {
        ["new", "cur"].flatMap { sub in
            ((try? FileManager.default.contentsOfDirectory(atPath: maildir + "/" + folder + (folder.isEmpty ? "" : "/") + sub)) ?? [])
        }.sorted()
    }
}
