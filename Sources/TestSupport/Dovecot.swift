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
    private let sandbox: Sandbox

    public static var script: String { Slapd.repositoryRoot.appendingPathComponent("scripts/dovecot-sandbox").path }

    public init(tls: Bool = false) throws {
        let sandbox = try Sandbox(script: Self.script, name: "dovecot", arguments: tls ? ["--tls"] : [])
        self.sandbox = sandbox
        directory = sandbox.directory
        port = Int(sandbox["DOVECOT_PORT"] ?? "") ?? 0
        imapsPort = Int(sandbox["DOVECOT_IMAPS_PORT"] ?? "")
        user = sandbox["DOVECOT_USER"] ?? ""
        password = sandbox["DOVECOT_PASSWORD"] ?? ""
        maildir = sandbox["DOVECOT_MAILDIR"] ?? ""
        caFile = sandbox["DOVECOT_CA_FILE"]
    }

    /// Stops Dovecot and removes its directory. Safe to call more than once.
    public func stop() { sandbox.stop() }

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
