import ArgumentParser
import Config
import Foundation
import LDAPClient
import LDAPModel
import Logging
import MailDrop
import Replication
import RunSupport
import X509

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a configuration and everything it depends on; for people after an edit, and for monitoring.",
        discussion: """
            Checks, in order: the configuration file (and every file it names); the LDAP server \
            (reachable, the bind works); the bridgehead schema loaded in it; that the bind DN may write \
            under [ldap] state_dn (asked with the No-Op control where that is safe, so nothing is \
            written); whether the server offers transactions; the mail drop (reachable, readable); every \
            source and peer certificate and the signing certificates (readable, not expired, a \
            warning within 30 days of expiry); messages held behind a gap past [agent] \
            gap_timeout_hours; the last run's age. Each problem is one line that says what to do.

            The first line is a summary in the form monitoring plugins use (Nagios, Icinga):
              BRIDGEHEAD OK - 9 checks passed
              BRIDGEHEAD WARNING - certificate site-a expires in 10 days (2026-12-13)

            Exit status: 0 all good; 1 warnings only; 69 the LDAP or mail server cannot be reached; \
            77 a bind or a write is refused; 78 the configuration or the directory's schema is not \
            usable.

            Examples:
              bridgehead check --config /etc/bridgehead/bridgehead.toml
              bridgehead check --config /etc/bridgehead/bridgehead.toml --format json
            """
    )

    @OptionGroup var configFile: ConfigOption

    @OptionGroup var output: TextOrJSONOption

    @Option(help: "Warn when the last run finished longer ago than this many hours (default 24).")
    var maxRunAge: Double = 24

    @OptionGroup var common: CommonOptions

    /// One check's outcome.
    struct Finding: Codable, Sendable {
        enum State: String, Codable, Sendable { case ok, warning, critical }
        var check: String
        var state: State
        var message: String
        /// The exit status a critical finding gives (69, 77, 78).
        var status: Int32?
    }

    struct Report: Codable, Sendable {
        var version: String
        var status: Int32
        var summary: String
        var findings: [Finding]
    }

    func run() async throws {
        common.bootstrapLogging()
        try emit(await gather(logger: Logger(label: "bridgehead.check")))
    }

    /// Every check's finding, in order; a check that makes the next ones meaningless ends the list.
    func gather(logger: Logger) async -> [Finding] {
        var findings: [Finding] = []
        func ok(_ check: String, _ message: String) { findings.append(Finding(check: check, state: .ok, message: message)) }
        func warn(_ check: String, _ message: String) { findings.append(Finding(check: check, state: .warning, message: message)) }
        func fail(_ check: String, _ message: String, _ status: Int32) {
            findings.append(Finding(check: check, state: .critical, message: message, status: status))
        }
        let configuration: Configuration
        do {
            configuration = try Configuration.load(path: configFile.config)
            ok("configuration", "\(configFile.config) is valid, and every file it names is readable")
            for warning in configuration.warnings { warn("configuration", warning) }
        } catch {
            fail("configuration", "\(error)", 78)
            return findings
        }
        checkCertificates(configuration, now: Date(), ok: ok, warn: warn, fail: fail)

        let connection: LDAPConnection
        do {
            connection = try await LDAPConnection.connect(
                configuration.connectionOptions, credentials: try configuration.credentials(), logger: logger)
            ok("ldap", "\(configuration.ldap.uri) answers and the bind works")
        } catch let error as LDAPError where error.isTransportFailure {
            fail("ldap", "cannot reach \(configuration.ldap.uri): \(error); is slapd running, and is [ldap] uri right?", 69)
            return findings
        } catch let error as LDAPError {
            fail("ldap", "bind failed: \(error); check [ldap] bind_dn and password_file (or the SASL settings)", 77)
            return findings
        } catch {
            fail("ldap", "\(error)", 78)
            return findings
        }
        await checkDirectory(configuration, connection, ok: ok, warn: warn, fail: fail)
        await checkDrop(configuration, connection, logger: logger, ok: ok, warn: warn, fail: fail)
        await connection.close()
        if let record = RunRecord.read(configuration.agent.statusFile) {
            let hours = Date().timeIntervalSince(record.finished) / 3600
            if hours > maxRunAge {
                warn("last run", String(format: "the last sync run finished %.0f hours ago; is cron (or sync --watch) running?", hours))
            } else {
                ok("last run", String(format: "the last sync run finished %.1f hours ago with exit status %d", hours, record.exitStatus))
            }
        } else if configuration.mail != nil, !configuration.sources.isEmpty {
            warn("last run", "no sync run has recorded itself in \(configuration.agent.statusFile) yet")
        }
        return findings
    }

    typealias Note = (String, String) -> Void
    typealias Fail = (String, String, Int32) -> Void

    /// Every certificate the configuration trusts or signs with: not expired, not expiring within 30 days.
    func checkCertificates(_ configuration: Configuration, now: Date, ok: Note, warn: Note, fail: Fail) {
        var certificates: [(String, Certificate)] = []
        for source in configuration.sources {
            guard let verifier = configuration.verifiers[source.id] else { continue }
            certificates += (verifier.pinned + verifier.trustRoots).map { ("source \(source.id)", $0) }
        }
        for peer in configuration.peers {
            guard let verifier = configuration.peerVerifiers[peer.id] else { continue }
            certificates += (verifier.pinned + verifier.trustRoots).map { ("peer \(peer.id)", $0) }
        }
        if let signer = configuration.signer { certificates.append(("[publish] sign_cert", signer.certificate)) }
        if let signer = configuration.requestSigner { certificates.append(("[agent] sign_cert", signer.certificate)) }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        var good = 0
        for (owner, certificate) in certificates {
            let expiry = certificate.notValidAfter
            let days = Int(expiry.timeIntervalSince(now) / 86_400)
            if expiry < now {
                fail("certificate", "\(owner): its certificate \(certificate.subject) expired on \(day.string(from: expiry)); install a new one", 78)
            } else if certificate.notValidBefore > now {
                fail(
                    "certificate",
                    "\(owner): its certificate \(certificate.subject) is not valid before \(day.string(from: certificate.notValidBefore))", 78)
            } else if days < 30 {
                warn(
                    "certificate", "\(owner): its certificate \(certificate.subject) expires in \(days) days (\(day.string(from: expiry))); renew it")
            } else {
                good += 1
            }
        }
        if good > 0 { ok("certificates", "\(good) certificate(s) valid for 30 days or more") }
    }

    /// The schema, the right to write under state_dn, transactions.
    func checkDirectory(_ configuration: Configuration, _ connection: LDAPConnection, ok: Note, warn: Note, fail: Fail) async {
        do {
            let schema = try await connection.subschema()
            var needed = [BridgeheadSchema.replicaState, BridgeheadSchema.replicated].filter { schema.objectClass($0) == nil }
            needed += [BridgeheadSchema.owner, BridgeheadSchema.sequence, BridgeheadSchema.request].map(\.type).filter {
                schema.attributeType($0) == nil
            }
            if configuration.publish != nil, schema.attributeType(BridgeheadSchema.logPosition.type) == nil {
                needed.append(BridgeheadSchema.logPosition.type)
            }
            if needed.isEmpty {
                ok("schema", "the bridgehead schema is loaded")
            } else {
                fail(
                    "schema",
                    "the server's schema lacks \(needed.joined(separator: ", ")); load schema/bridgehead.schema (slapd.conf) or schema/bridgehead.ldif (cn=config)",
                    78)
            }
        } catch {
            fail("schema", "cannot read the server's schema: \(error)", error.isTransportFailure ? 69 : 77)
        }
        guard let text = configuration.ldap.stateDN, let container = DN(text) else {
            fail("state_dn", "[ldap] state_dn is missing: set it, e.g. state_dn = \"ou=bridgehead,dc=example,dc=com\"", 78)
            return
        }
        do {
            let record: ChangeRecord
            if let existing = try await connection.read(container, attributes: ["ou"]), !existing.values("ou").isEmpty {
                record = ChangeRecord(dn: container, change: .modify([Modification(.replace, "ou", values: existing.values("ou"))]))
            } else {
                let value = container.rdn?.attributes.first?.stringValue ?? "bridgehead"
                record = .add(
                    Entry(dn: container, attributes: [Attribute("objectClass", strings: ["organizationalUnit"]), Attribute("ou", strings: [value])]))
            }
            if let refused = try await connection.validate(record) {
                fail("state_dn", "the bind DN may not write \(container): \(refused); grant it write access there", 77)
            } else {
                ok("state_dn", "the bind DN may write \(container) (checked with No-Op; nothing written)")
            }
        } catch let error where error.code == .notSupported {
            // The database has never stored what the check would add (a new one): slapd's No-Op of it
            // would corrupt the database, so ask about the entry above instead.
            await checkParent(of: container, connection, ok: ok, warn: warn, fail: fail)
        } catch {
            fail("state_dn", "cannot check \(container): \(error)", error.isTransportFailure ? 69 : 77)
        }
        do {
            let root = try await connection.rootDSE()
            let offered = root.strings("supportedExtension").contains(LDAPConnection.ExtendedOIDs.startTransaction)
            ok(
                "transactions",
                offered
                    ? "the server offers transactions (RFC 5805); bridgehead uses them where they are safe ([agent] transactions)"
                    : "the server offers no transactions; each operation is applied alone")
        } catch {
            warn("transactions", "cannot read the root DSE: \(error)")
        }
    }

    /// Write access to the entry above `container` (replacing its objectClass values by themselves,
    /// with No-Op: nothing is written, and objectClass is stored by every database).
    func checkParent(of container: DN, _ connection: LDAPConnection, ok: Note, warn: Note, fail: Fail) async {
        guard let parent = container.parent, !parent.isRoot else {
            warn("state_dn", "write access for \(container) not checked: it has no entry above it to ask about")
            return
        }
        do {
            guard let entry = try await connection.read(parent, attributes: ["objectClass"]) else {
                fail("state_dn", "\(parent), above state_dn, does not exist; create it or choose another state_dn", 78)
                return
            }
            let record = ChangeRecord(dn: parent, change: .modify([Modification(.replace, "objectClass", values: entry.values("objectClass"))]))
            if let refused = try await connection.validate(record) {
                fail(
                    "state_dn", "the bind DN may not write \(parent), where the first run creates \(container): \(refused); grant it write access", 77
                )
            } else {
                ok("state_dn", "the bind DN may write \(parent), where the first run creates \(container) (checked with No-Op; nothing written)")
            }
        } catch {
            warn("state_dn", "write access for \(container) not checked: \(error)")
        }
    }

    /// The drop: reachable and readable; messages held past the gap timeout.
    func checkDrop(_ configuration: Configuration, _ connection: LDAPConnection, logger: Logger, ok: Note, warn: Note, fail: Fail) async {
        guard let mail = configuration.mail else { return }
        let drop: any MailDrop
        do {
            drop = try configuration.makeDrop(readOnly: true)
        } catch {
            fail("mail", "\(error)", 78)
            return
        }
        let place = mail.maildir ?? mail.imapURL ?? "[mail]"
        do {
            let listed = try await drop.list()
            ok("mail", "\(place) is readable (\(listed.count) message(s) waiting)")
        } catch {
            switch error.kind {
            case .configuration: fail("mail", "\(place): \(error)", 78)
            case .refused: fail("mail", "\(place): \(error); check imap_user and imap_password_file", 77)
            default: fail("mail", "cannot reach \(place): \(error)", 69)
            }
            await drop.close()
            return
        }
        guard !configuration.sources.isEmpty, configuration.sources.allSatisfy({ configuration.verifiers[$0.id] != nil }) else {
            await drop.close()
            return
        }
        let engine = SyncEngine(configuration: configuration, connection: connection, drop: drop, logger: logger)
        do {
            let status = try await engine.status()
            let now = Date()
            let late = status.sources.filter { source in
                source.waitingSince.map { now.timeIntervalSince($0) > configuration.agent.gapTimeout } ?? false
            }
            if late.isEmpty {
                ok("gaps", "no message has waited behind a gap past gap_timeout_hours")
            }
            for source in late {
                warn(
                    "gaps",
                    "\(source.held) message(s) of \(source.source) have waited for #\(source.waitingFor ?? 0) since "
                        + "\(ISO8601DateFormatter().string(from: source.waitingSince ?? now)); find the missing message at the source "
                        + "(publish --resend) or configure requests ([agent] sign_cert)")
            }
        } catch {
            warn("gaps", "cannot read the sources' state: \(error)")
        }
        await drop.close()
    }

    /// The summary line and one line per problem (or the JSON report); throws the exit status.
    func emit(_ findings: [Finding]) throws {
        let critical = findings.filter { $0.state == .critical }
        let warnings = findings.filter { $0.state == .warning }
        let status: Int32 = critical.first?.status ?? (warnings.isEmpty ? 0 : 1)
        let summary: String
        if let first = critical.first {
            summary = "BRIDGEHEAD CRITICAL - \(first.message)"
        } else if let first = warnings.first {
            summary = "BRIDGEHEAD WARNING - \(first.message)"
        } else {
            summary = "BRIDGEHEAD OK - \(findings.count) checks passed"
        }
        if output.format == .json {
            try? FileHandleOutput.writeJSON(Report(version: BridgeheadVersion.current, status: status, summary: summary, findings: findings))
        } else {
            var text = summary + "\n"
            for finding in findings where finding.state != .ok || common.verbose > 0 {
                text += "\(finding.state.rawValue.uppercased()) \(finding.check): \(finding.message)\n"
            }
            FileHandleOutput.write(text, to: 1)
        }
        if status != 0 { throw ExitCode(status) }
    }
}
