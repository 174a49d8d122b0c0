import Addressing
import Foundation
import LDAPModel
import MessageFormat
import TOMLKit

/// A publishing site (`[publish]`): what it sends, to whom, how, and where it archives it.
public struct PublishSettings: Sendable, Hashable {
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
    public var transport: TransportSettings
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
        let transport = try TransportSettings.parse(reader, file: file, section: "publish", defaultKind: .maildir)
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
        settings.lockFile = try reader.path("lock_file") ?? settings.lockFile
        settings.metricsFile = try reader.path("metrics_file")
        return settings
    }
}
