import Addressing
import Coding
import Foundation
import LDAPModel
import MailDrop
import MessageFormat
import RunSupport
import SMIME
import TOMLKit

/// The agent's configuration file (TOML). See examples/bridgehead.toml for every key.
public struct Configuration: Sendable {
    public var ldap: LDAPSettings
    public var resolve: ResolveSettings
    /// Where messages wait (`[mail]`); nil when the file has no such section (sync then refuses to run).
    public var mail: MailSettings?
    public var agent: AgentSettings
    public var sources: [SourceSettings]
    /// A publishing site's `[publish]`; nil when the file has none (publish then refuses to run).
    public var publish: PublishSettings?
    /// The file it was read from; relative paths inside it are taken from its directory.
    public var path: String
    /// What is allowed but unwise (a password file others may read): printed by every command.
    public var warnings: [String] = []
    /// Each source's signature verifier, built by `load` from its `certificate` (a source without one
    /// has none: `sync` refuses to run, other commands do not need it).
    public var verifiers: [String: SMIMEVerifier] = [:]
    /// The publisher's signer, built by `load` from `[publish] sign_cert` and `sign_key`.
    public var signer: SMIMESigner?
    /// A receiver's requests for what a gap lacks (`[agent] sign_cert` …); nil: it sends none.
    public var requests: RequestSettings?
    /// Their signer, built by `load`.
    public var requestSigner: SMIMESigner?
    /// A publisher's `[[peer]]`s: the receivers whose requests it answers.
    public var peers: [PeerSettings] = []
    /// Each peer's verifier, built by `load` from its `certificate`.
    public var peerVerifiers: [String: SMIMEVerifier] = [:]

    public struct LDAPSettings: Sendable, Hashable {
        public var uri: String
        public var bindDN: String?
        public var passwordFile: String?
        public var saslMechanism: String?
        public var saslAuthenticationID: String?
        public var saslAuthorizationID: String?
        public var startTLS: Bool
        public var caFile: String?
        public var certificateFile: String?
        public var keyFile: String?
        public var verifyCertificate: Bool
        public var timeout: Double
        public var stateDN: String?
    }

    /// How addresses are looked up in the directory (`[resolve]`).
    public struct ResolveSettings: Sendable, Hashable {
        /// Search base; nil: the server's first naming context.
        public var base: String?
        public var attributes: [String]
    }

    /// The drop (`[mail]`): a Maildir, or an IMAP mailbox.
    public struct MailSettings: Sendable, Hashable {
        public var maildir: String?
        public var imapURL: String?
        public var imapUser: String?
        public var imapPasswordFile: String?
        public var imapCAFile: String?
        /// imap:// without STARTTLS: only for a server on this machine.
        public var imapAllowPlaintext: Bool
        public var processedFolder: String
        public var quarantineFolder: String
        /// Largest message read; a larger one is quarantined unread.
        public var maxMessageBytes = 256 << 20
    }

    /// The agent itself (`[agent]`).
    public struct AgentSettings: Sendable, Hashable {
        /// This receiver's id: a message whose signed Bridgehead-Destination names other receivers only is refused.
        public var id: String? = nil
        /// Our own addresses, any form (for people reading `status`; messages are not filtered by To).
        public var addresses: [String]
        public var lockFile: String
        /// Where each real run records when it ran and what it did (read by `status`).
        public var statusFile: String
        /// Prometheus textfile written after each real run, when set.
        public var metricsFile: String?
        /// Most deletes one run applies across all messages; a message that would pass it is held.
        public var maxDeletesPerRun: Int?
        /// How long a message may wait behind a sequence gap before a run exits 1 (seconds).
        public var gapTimeout: Double
        /// Operations per LDAP transaction when a message is applied (its state update included).
        public var useTransactions: Bool?
        /// How old (seconds) another agent's claim on a source must be before this agent takes it over
        /// (that agent died mid-message).
        public var claimTimeout: Double = 1800
        /// A full message's plan that writes more bytes of values than this is kept in a temporary
        /// file while it is applied, not in memory (nil: always held).
        public var planMemory: Int? = 16 << 20
    }

    /// One `[[source]]`: a site whose messages are accepted.
    public struct SourceSettings: Sendable, Hashable {
        public var id: String
        public var addresses: [String]
        public var certificate: String?
        public var naming: [NamingRule]
        public var maxDeletes: Int?
        /// When set, the only attributes this source may write.
        public var allowAttributes: [String]?
        public var denyAttributes: [String]
        /// When set, the only object classes this source may use.
        public var allowObjectClasses: [String]? = nil
        public var denyObjectClasses: [String] = []
        /// Whether entries of this source may get uidNumber or gidNumber 0.
        public var allowRootIDs = false

        /// The source's e-mail addresses (its SMTP-form addresses, lower-cased): what a signer issued
        /// by a CA must carry in its subjectAltName to sign for this source.
        public var signerAddresses: Set<String> {
            Set(
                addresses.compactMap { text -> String? in
                    guard let address = try? AddressParser.parse(text), case .smtp = address.form else { return nil }
                    return address.value.lowercased()
                })
        }
    }

    /// Reads and checks a configuration file and every file it names (`parse`, then `checkFiles`).
    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, reason: "cannot read the file (does it exist, and may this user read it?)")
        }
        var configuration = try parse(String(decoding: data, as: UTF8.self), path: path)
        try configuration.checkFiles()
        return configuration
    }

    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> Configuration {
        if let problem = TOMLGuard.check(text) {
            throw ConfigurationError(file: path, reason: "line \(problem.line), column \(problem.column): \(problem.reason)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(file: path, reason: "line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        } catch {
            throw ConfigurationError(file: path, reason: "\(error)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        let reader = TableReader(table: table, file: path, base: base)
        guard let ldap = try reader.table("ldap") else {
            throw ConfigurationError(file: path, reason: "missing [ldap] section (at least: uri = \"ldap://127.0.0.1:389\")")
        }
        let section = TableReader(table: ldap, file: path, base: base, prefix: "ldap.")
        guard let uri = try section.string("uri") else {
            throw ConfigurationError(file: path, key: "ldap.uri", reason: "missing; e.g. uri = \"ldapi:///\" or \"ldaps://ldap.example.com\"")
        }
        let lower = uri.lowercased()
        guard lower.hasPrefix("ldap://") || lower.hasPrefix("ldaps://") || lower.hasPrefix("ldapi://") else {
            throw ConfigurationError(file: path, key: "ldap.uri", reason: "'\(uri)' must start with ldap://, ldaps:// or ldapi://")
        }
        let settings = LDAPSettings(
            uri: uri,
            bindDN: try section.string("bind_dn"),
            passwordFile: try section.path("password_file"),
            saslMechanism: try section.string("sasl_mechanism"),
            saslAuthenticationID: try section.string("sasl_authcid"),
            saslAuthorizationID: try section.string("sasl_authzid"),
            startTLS: try section.bool("start_tls") ?? false,
            caFile: try section.path("ca_file"),
            certificateFile: try section.path("certificate_file"),
            keyFile: try section.path("key_file"),
            verifyCertificate: try section.bool("verify_certificate") ?? true,
            timeout: try section.double("timeout") ?? 120,
            stateDN: try section.string("state_dn"))
        if let state = settings.stateDN, DN(state) == nil || state.isEmpty {
            throw ConfigurationError(
                file: path, key: "ldap.state_dn", reason: "'\(state)' is not a DN; e.g. state_dn = \"ou=bridgehead,dc=example,dc=com\"")
        }
        if settings.bindDN != nil, settings.passwordFile == nil, settings.saslMechanism == nil,
            ProcessInfo.processInfo.environment["BRIDGEHEAD_LDAP_PASSWORD"] == nil
        {
            throw ConfigurationError(
                file: path, key: "ldap.password_file",
                reason: "bind_dn is set but no password: set password_file (or BRIDGEHEAD_LDAP_PASSWORD in the environment)")
        }
        if settings.startTLS, lower.hasPrefix("ldaps://") || lower.hasPrefix("ldapi://") {
            throw ConfigurationError(file: path, key: "ldap.start_tls", reason: "StartTLS only applies to ldap:// URIs")
        }
        // The bind password and every change in the clear, across a network: only when asked for.
        let plain = uri.split(whereSeparator: { $0 == " " || $0 == "," }).filter { $0.lowercased().hasPrefix("ldap://") }
        if !plain.isEmpty, !settings.startTLS, try section.bool("allow_plaintext") != true {
            if let host = plain.map({ Self.host(of: String($0)) }).first(where: { !Loopback.contains($0) }) {
                throw ConfigurationError(
                    file: path, key: "ldap.uri",
                    reason: "ldap:// to \(host.isEmpty ? "the default host" : host) would send the bind and every change in the clear; "
                        + "use ldaps://, set start_tls = true, or (on a network you trust) allow_plaintext = true")
            }
        }
        var resolve = ResolveSettings(base: nil, attributes: ["mail", "proxyAddresses", "legacyExchangeDN"])
        if let table = try reader.table("resolve") {
            let section = TableReader(table: table, file: path, base: base, prefix: "resolve.")
            resolve.base = try section.string("base")
            if let base = resolve.base, DN(base) == nil {
                throw ConfigurationError(file: path, key: "resolve.base", reason: "'\(base)' is not a DN")
            }
            if let attributes = try section.strings("attributes") {
                guard !attributes.isEmpty, attributes.allSatisfy({ AttributeDescription($0) != nil }) else {
                    throw ConfigurationError(
                        file: path, key: "resolve.attributes", reason: "must list attribute names, like [\"mail\", \"proxyAddresses\"]")
                }
                resolve.attributes = attributes
            }
        }
        var sources: [SourceSettings] = []
        for (index, table) in try reader.tables("source").enumerated() {
            let section = TableReader(table: table, file: path, base: base, prefix: "source[\(index + 1)].")
            guard let id = try section.string("id"), ReplicationMessage.isValidSource(id) else {
                throw ConfigurationError(file: path, key: "source[\(index + 1)].id", reason: "missing, or not of the form [a-z0-9._-]+")
            }
            guard !sources.contains(where: { $0.id == id }) else {
                throw ConfigurationError(file: path, key: "source[\(index + 1)].id", reason: "'\(id)' is configured twice")
            }
            var naming: [NamingRule] = []
            for (ruleIndex, rule) in try section.tables("naming").enumerated() {
                let ruleReader = TableReader(table: rule, file: path, base: base, prefix: "source[\(index + 1)].naming[\(ruleIndex + 1)].")
                guard let from = try ruleReader.string("from").flatMap(DN.init), let to = try ruleReader.string("to").flatMap(DN.init) else {
                    throw ConfigurationError(
                        file: path, key: "source[\(index + 1)].naming[\(ruleIndex + 1)]", reason: "needs from = \"DN\" and to = \"DN\"")
                }
                naming.append(NamingRule(from: from, to: to))
            }
            let maxDeletes = try section.integer("max_deletes") ?? 500
            var settings = SourceSettings(
                id: id, addresses: try section.strings("addresses") ?? [], certificate: try section.path("certificate"), naming: naming,
                maxDeletes: maxDeletes < 0 ? nil : maxDeletes, allowAttributes: try section.strings("allow_attributes"),
                denyAttributes: try section.strings("deny_attributes") ?? [])
            settings.allowObjectClasses = try section.strings("allow_object_classes")
            settings.denyObjectClasses = try section.strings("deny_object_classes") ?? []
            settings.allowRootIDs = try section.bool("allow_root_ids") ?? false
            sources.append(settings)
        }
        var mail: MailSettings?
        if let table = try reader.table("mail") {
            let section = TableReader(table: table, file: path, base: base, prefix: "mail.")
            var settings = MailSettings(
                maildir: try section.path("maildir"), imapURL: try section.string("imap_url"), imapUser: try section.string("imap_user"),
                imapPasswordFile: try section.path("imap_password_file"), imapCAFile: try section.path("imap_ca_file"),
                imapAllowPlaintext: try section.bool("imap_allow_plaintext") ?? false,
                processedFolder: try section.string("processed_folder") ?? "Processed",
                quarantineFolder: try section.string("quarantine_folder") ?? "Quarantine")
            if let limit = try section.integer("max_message_bytes") {
                guard limit >= 4096 else { throw ConfigurationError(file: path, key: "mail.max_message_bytes", reason: "must be at least 4096") }
                settings.maxMessageBytes = limit
            }
            guard (settings.maildir == nil) != (settings.imapURL == nil) else {
                throw ConfigurationError(
                    file: path, key: "mail", reason: "set either maildir = \"/path/Maildir\" or imap_url = \"imaps://host/INBOX\" (one of them)")
            }
            if let url = settings.imapURL {
                guard let user = settings.imapUser else {
                    throw ConfigurationError(file: path, key: "mail.imap_user", reason: "missing; imap_url needs imap_user and imap_password_file")
                }
                guard settings.imapPasswordFile != nil else {
                    throw ConfigurationError(file: path, key: "mail.imap_password_file", reason: "missing; imap_url needs a password file")
                }
                do {
                    _ = try IMAPSettings(url: url, user: user, password: "", caFile: settings.imapCAFile, allowPlaintext: settings.imapAllowPlaintext)
                } catch {
                    throw ConfigurationError(file: path, key: "mail.imap_url", reason: error.message)
                }
            }
            for folder in [settings.processedFolder, settings.quarantineFolder]
            where folder.isEmpty || folder.contains("/") || folder.hasPrefix(".") {
                throw ConfigurationError(file: path, key: "mail", reason: "folder name '\(folder)' must be a plain name like \"Processed\"")
            }
            mail = settings
        }
        var agent = AgentSettings(
            addresses: [], lockFile: "/run/lock/bridgehead.lock", statusFile: "/run/lock/bridgehead.lock.last-run.json", metricsFile: nil,
            maxDeletesPerRun: 500, gapTimeout: 86_400, useTransactions: nil)
        var requests: RequestSettings?
        if let table = try reader.table("agent") {
            let section = TableReader(table: table, file: path, base: base, prefix: "agent.")
            agent.addresses = try section.strings("addresses") ?? []
            if let id = try section.string("id") {
                guard ReplicationMessage.isValidSource(id) else {
                    throw ConfigurationError(file: path, key: "agent.id", reason: "'\(id)' is not of the form [a-z0-9._-]+, like \"site-b\"")
                }
                agent.id = id
            }
            if let lock = try section.path("lock_file") {
                agent.lockFile = lock
                agent.statusFile = lock + ".last-run.json"
            }
            agent.statusFile = try section.path("status_file") ?? agent.statusFile
            agent.metricsFile = try section.path("metrics_file")
            if let limit = try section.integer("max_deletes_per_run") { agent.maxDeletesPerRun = limit < 0 ? nil : limit }
            if let hours = try section.double("gap_timeout_hours") { agent.gapTimeout = hours * 3600 }
            if let minutes = try section.double("claim_timeout_minutes") { agent.claimTimeout = minutes * 60 }
            if let megabytes = try section.integer("plan_memory_mb") { agent.planMemory = megabytes < 0 ? nil : min(megabytes, 1 << 30) << 20 }
            agent.useTransactions = try section.bool("transactions")
            requests = try RequestSettings.parse(section, agent: agent, file: path)
        }
        var configuration = Configuration(ldap: settings, resolve: resolve, mail: mail, agent: agent, sources: sources, path: path)
        configuration.requests = requests
        configuration.peers = try PeerSettings.parse(reader, file: path)
        if let table = try reader.table("publish") {
            configuration.publish = try PublishSettings.parse(TableReader(table: table, file: path, base: base, prefix: "publish."), file: path)
        }
        configuration.warnings = [settings.passwordFile, mail?.imapPasswordFile].compactMap { $0.flatMap(SafeFile.exposure) }
        return configuration
    }

    /// The host of an ldap:// URI ("" when it names none: libldap then uses its default host).
    static func host(of uri: String) -> String {
        var rest = uri.dropFirst("ldap://".count)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { return String(rest[...close]) }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return String(rest)
    }

    /// A secret file's contents without the final line break; `key` names the setting in an error.
    public func secret(_ file: String, key: String = "ldap.password_file") throws(ConfigurationError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError(file: path, key: key, reason: "cannot read '\(file)'")
        }
        var bytes = [UInt8](data)
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        return bytes
    }
}

/// A configuration problem: which file, which key, what is wrong and what to do.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var key: String?
    public var reason: String

    public init(file: String, key: String? = nil, reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }

    public var description: String { "\(file): " + (key.map { "\($0): " } ?? "") + reason }
}
