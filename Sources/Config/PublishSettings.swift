import Addressing
import Foundation
import LDAPModel
import MessageFormat
import TOMLKit

/// A publishing site (`[publish]`): what it sends, to whom, how, and where it archives it.
public struct PublishSettings: Sendable, Hashable {
    /// How messages leave the site.
    public enum Transport: String, Sendable, Hashable, CaseIterable {
        /// Into a Maildir (`deliver_maildir`): a data diode's spool, a file transfer, a peer on this host.
        case maildir
        /// Through a sendmail-compatible program (`sendmail`), `-i -t`, the message on its input.
        case sendmail
        /// To an SMTP server (`smtp_url`): STARTTLS required except on this machine, or smtps://.
        case smtp
    }

    /// This site's source id, as its peers configure it in their `[[source]]`.
    public var sourceID: String
    /// What this site publishes.
    public var subtrees: [DN]
    /// slapo-accesslog's log database (`logdb`).
    public var accesslogBase: DN
    public var from: String
    /// Every peer's address: one message goes to all of them.
    public var to: [String]
    public var signCertificate: String
    public var signKey: String
    /// A Maildir archive of every message sent: `new/` not yet delivered, `cur/` delivered.
    public var outbox: String
    public var maxChanges = 500
    public var maxBytes = 10_000_000
    public var transport: Transport
    public var deliverMaildir: String?
    public var sendmail = "/usr/sbin/sendmail"
    /// `smtp://host[:port]` (STARTTLS; port 587 by default) or `smtps://host[:port]` (465).
    public var smtpURL: String?
    public var smtpUser: String?
    public var smtpPasswordFile: String?
    public var smtpCAFile: String?
    /// One publish run at a time (apart from sync's lock: a site may publish and receive).
    public var lockFile = "/run/lock/bridgehead-publish.lock"
    /// Prometheus textfile written after each real run, when set.
    public var metricsFile: String?

    static func parse(_ reader: TableReader, file: String) throws(ConfigurationError) -> PublishSettings {
        func required(_ key: String, _ example: String) throws(ConfigurationError) -> String {
            guard let value = try reader.string(key), !value.isEmpty else {
                throw ConfigurationError(file: file, key: "publish.\(key)", reason: "missing; e.g. \(key) = \(example)")
            }
            return value
        }
        func requiredPath(_ key: String, _ example: String) throws(ConfigurationError) -> String {
            guard let value = try reader.path(key) else {
                throw ConfigurationError(file: file, key: "publish.\(key)", reason: "missing; e.g. \(key) = \(example)")
            }
            return value
        }
        let id = try required("source_id", "\"site-a\"")
        guard ReplicationMessage.isValidSource(id) else {
            throw ConfigurationError(file: file, key: "publish.source_id", reason: "'\(id)' is not of the form [a-z0-9._-]+, like \"site-a\"")
        }
        guard let subtreeTexts = try reader.strings("subtrees"), !subtreeTexts.isEmpty else {
            throw ConfigurationError(file: file, key: "publish.subtrees", reason: "missing; e.g. subtrees = [\"ou=site-a,dc=example,dc=com\"]")
        }
        var subtrees: [DN] = []
        for text in subtreeTexts {
            guard let dn = DN(text), !dn.isRoot else {
                throw ConfigurationError(file: file, key: "publish.subtrees", reason: "'\(text)' is not a DN (the root DSE cannot be published)")
            }
            subtrees.append(dn)
        }
        let logText = try reader.string("accesslog_base") ?? "cn=accesslog"
        guard let accesslog = DN(logText), !accesslog.isRoot else {
            throw ConfigurationError(file: file, key: "publish.accesslog_base", reason: "'\(logText)' is not a DN; e.g. \"cn=accesslog\"")
        }
        let from = try required("from", "\"dra@site-a.example.com\"")
        guard let to = try reader.strings("to"), !to.isEmpty else {
            throw ConfigurationError(file: file, key: "publish.to", reason: "missing; e.g. to = [\"dra@site-b.example.com\"]")
        }
        for (key, address) in [("from", from)] + to.map({ ("to", $0) }) {
            guard let parsed = try? AddressParser.parse(address), case .smtp = parsed.form, !address.contains("\n"), !address.contains("\r") else {
                throw ConfigurationError(
                    file: file, key: "publish.\(key)", reason: "'\(address)' is not an e-mail address like dra@site-a.example.com")
            }
        }
        let transportText = try reader.string("transport") ?? "maildir"
        guard let transport = Transport(rawValue: transportText) else {
            throw ConfigurationError(
                file: file, key: "publish.transport",
                reason: "'\(transportText)' is not one of \(Transport.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var settings = PublishSettings(
            sourceID: id, subtrees: subtrees, accesslogBase: accesslog, from: from, to: to,
            signCertificate: try requiredPath("sign_cert", "\"/etc/bridgehead/site-a.pem\""),
            signKey: try requiredPath("sign_key", "\"/etc/bridgehead/site-a.key\""),
            outbox: try requiredPath("outbox", "\"/var/spool/bridgehead/Outbox\""), transport: transport)
        if let value = try reader.integer("max_changes") {
            guard value >= 1 else { throw ConfigurationError(file: file, key: "publish.max_changes", reason: "must be at least 1") }
            settings.maxChanges = value
        }
        if let value = try reader.integer("max_bytes") {
            guard value >= 4096 else { throw ConfigurationError(file: file, key: "publish.max_bytes", reason: "must be at least 4096") }
            settings.maxBytes = value
        }
        settings.deliverMaildir = try reader.path("deliver_maildir")
        if transport == .maildir, settings.deliverMaildir == nil {
            throw ConfigurationError(
                file: file, key: "publish.deliver_maildir", reason: "missing; transport = \"maildir\" needs deliver_maildir = \"/path/Maildir\"")
        }
        settings.sendmail = try reader.path("sendmail") ?? settings.sendmail
        settings.smtpURL = try reader.string("smtp_url")
        settings.smtpUser = try reader.string("smtp_user")
        settings.smtpPasswordFile = try reader.path("smtp_password_file")
        settings.smtpCAFile = try reader.path("smtp_ca_file")
        if transport == .smtp {
            guard let url = settings.smtpURL else {
                throw ConfigurationError(
                    file: file, key: "publish.smtp_url", reason: "missing; transport = \"smtp\" needs smtp_url = \"smtp://mail.example.com:587\"")
            }
            let lower = url.lowercased()
            guard lower.hasPrefix("smtp://") || lower.hasPrefix("smtps://"), let host = URLComponents(string: url)?.host, !host.isEmpty else {
                throw ConfigurationError(file: file, key: "publish.smtp_url", reason: "'\(url)' is not smtp://host[:port] or smtps://host[:port]")
            }
            if settings.smtpUser != nil, settings.smtpPasswordFile == nil {
                throw ConfigurationError(file: file, key: "publish.smtp_password_file", reason: "missing; smtp_user needs a password file")
            }
        }
        settings.lockFile = try reader.path("lock_file") ?? settings.lockFile
        settings.metricsFile = try reader.path("metrics_file")
        return settings
    }
}
