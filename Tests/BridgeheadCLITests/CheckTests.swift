import Foundation
import MailDrop
import TestSupport
import Testing

/// `bridgehead check` against real servers: what a working setup says, and each kind of problem with
/// its exit status and the line that says what to do.
@Suite(.serialized, .ownThread) struct CheckTests {
    /// A receiver's configuration for `slapd`, a Maildir, one source whose certificate is valid for
    /// `days`; `mail` replaces the [mail] section, `password` the LDAP password file's content.
    final class Setup {
        let slapd: Slapd
        let folder: URL
        let config: String
        let pki: TestPKI

        init(slapd: Slapd? = nil, days: Int = 400, mail: String? = nil, password: String? = nil) throws {
            self.slapd = try slapd ?? Slapd()
            pki = try TestPKI()
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-check-\(UUID().uuidString.prefix(8))")
            let maildir = folder.appendingPathComponent("Maildir").path
            for sub in ["new", "cur", "tmp"] {
                try FileManager.default.createDirectory(atPath: maildir + "/" + sub, withIntermediateDirectories: true)
            }
            try pki.openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", String(days), "-subj", "/CN=site-a", "-keyout", pki.path("site-a.key"),
                "-out", pki.path("site-a.pem"), "-addext", "keyUsage=critical,digitalSignature",
            ])
            let secret = folder.appendingPathComponent("ldap.secret")
            try Data((password ?? self.slapd.rootPassword).utf8).write(to: secret)
            chmod(secret.path, 0o600)
            config = folder.appendingPathComponent("bridgehead.toml").path
            try Data(
                """
                [ldap]
                uri = "\(self.slapd.uri)"
                bind_dn = "\(self.slapd.rootDN)"
                password_file = "\(secret.path)"
                state_dn = "ou=bridgehead,dc=example,dc=com"

                [mail]
                \(mail ?? "maildir = \"\(maildir)\"")

                [agent]
                lock_file = "\(folder.path)/lock"

                [[source]]
                id = "site-a"
                addresses = ["dra@site-a.example.com"]
                certificate = "\(pki.path("site-a.pem"))"
                naming = [{ from = "ou=SiteA,o=Org", to = "ou=site-a,dc=example,dc=com" }]

                """.utf8
            ).write(to: URL(fileURLWithPath: config))
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        func check(_ extra: [String] = []) throws -> Command.Output {
            try Command.run(CLITests.binary, ["check", "--config", config] + extra)
        }
    }

    @Test func aWorkingSetupIsOK() throws {
        let setup = try Setup()
        #expect(try Command.run(CLITests.binary, ["sync", "--config", setup.config]).status == 0)
        let output = try setup.check()
        #expect(output.status == 0, "\(output.stdout) \(output.stderr)")
        #expect(output.stdout.hasPrefix("BRIDGEHEAD OK - "), "\(output.stdout)")
        let json = try setup.check(["--format", "json"])
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any] ?? [:]
        let checks = (report["findings"] as? [[String: Any]] ?? []).compactMap { $0["check"] as? String }
        for name in ["configuration", "certificates", "ldap", "schema", "state_dn", "transactions", "mail", "gaps", "last run"] {
            #expect(checks.contains(name), "\(name) checked: \(checks)")
        }
        #expect(
            report["version"] as? String == (try Command.run(CLITests.binary, ["--version"])).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func aCertificateExpiringInTenDaysIsAWarning() throws {
        let setup = try Setup(days: 10)
        #expect(try Command.run(CLITests.binary, ["sync", "--config", setup.config]).status == 0)
        let output = try setup.check()
        #expect(output.status == 1, "\(output.stdout)")
        #expect(output.stdout.hasPrefix("BRIDGEHEAD WARNING - source site-a: its certificate"), "\(output.stdout)")
        #expect(output.stdout.contains("expires in 9 days") || output.stdout.contains("expires in 10 days"), "\(output.stdout)")
        #expect(output.stdout.contains("renew it"))
    }

    @Test func aWrongLDAPPasswordSaysTheBindFailed() throws {
        let setup = try Setup(password: "not the password")
        let output = try setup.check()
        #expect(output.status == 77, "\(output.stdout)")
        #expect(output.stdout.contains("bind failed") && output.stdout.contains("password_file"), "\(output.stdout)")
    }

    @Test func aServerWithoutTheSchemaIsMisconfigured() throws {
        var options = Slapd.Options()
        options.projectSchema = false
        let setup = try Setup(slapd: try Slapd(options))
        let output = try setup.check()
        #expect(output.status == 78, "\(output.stdout)")
        #expect(output.stdout.contains("lacks bridgeheadReplicaState") && output.stdout.contains("load schema/bridgehead.schema"), "\(output.stdout)")
    }

    @Test func anUnreachableIMAPServerIsUnavailable() throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-check-imap-\(UUID().uuidString.prefix(8))")
        try Data("x".utf8).write(to: secret)
        defer { try? FileManager.default.removeItem(at: secret) }
        let setup = try Setup(
            mail: "imap_url = \"imap://127.0.0.1:1/INBOX\"\nimap_user = \"u\"\nimap_password_file = \"\(secret.path)\"\nimap_allow_plaintext = true")
        let output = try setup.check()
        #expect(output.status == 69, "\(output.stdout)")
        #expect(output.stdout.contains("CRITICAL mail: cannot reach imap://127.0.0.1:1/INBOX"), "\(output.stdout)")
    }
}
