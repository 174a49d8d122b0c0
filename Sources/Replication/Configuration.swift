import Foundation
import LDAPClient
import LDAPModel
import TOMLKit

/// The agent's configuration file (TOML). See examples/bridgehead.toml for every key.
public struct Configuration: Sendable {
    public var ldap: LDAPSettings
    public var resolve: ResolveSettings
    public var sources: [SourceSettings]
    /// The file it was read from; relative paths inside it are taken from its directory.
    public var path: String

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

    /// One `[[source]]`: a site whose messages are accepted.
    public struct SourceSettings: Sendable, Hashable {
        public var id: String
        public var addresses: [String]
        public var certificate: String?
        public var naming: [NamingRule]
        public var maxDeletes: Int?
    }

    /// Reads and checks a configuration file.
    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, reason: "cannot read the file (does it exist, and may this user read it?)")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> Configuration {
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
            sources.append(
                SourceSettings(
                    id: id, addresses: try section.strings("addresses") ?? [], certificate: try section.path("certificate"), naming: naming,
                    maxDeletes: try section.double("max_deletes").map { Int($0) }))
        }
        return Configuration(ldap: settings, resolve: resolve, sources: sources, path: path)
    }

    /// Connection options for `LDAPConnection`.
    public var connectionOptions: LDAPConnectionOptions {
        LDAPConnectionOptions(
            uri: ldap.uri, startTLS: ldap.startTLS, caFile: ldap.caFile, certificateFile: ldap.certificateFile,
            keyFile: ldap.keyFile, verifyCertificate: ldap.verifyCertificate, operationTimeout: ldap.timeout)
    }

    /// The credentials, with the password read from its file (or BRIDGEHEAD_LDAP_PASSWORD).
    public func credentials() throws(ConfigurationError) -> LDAPCredentials {
        if let mechanism = ldap.saslMechanism {
            let password = try ldap.passwordFile.map { file throws(ConfigurationError) in String(decoding: try readSecret(file), as: UTF8.self) }
            return .sasl(
                mechanism: mechanism, authenticationID: ldap.saslAuthenticationID, password: password, authorizationID: ldap.saslAuthorizationID)
        }
        guard let bindDN = ldap.bindDN else { return .anonymous }
        if let file = ldap.passwordFile { return .simple(dn: bindDN, password: try readSecret(file)) }
        return .simple(dn: bindDN, password: Array((ProcessInfo.processInfo.environment["BRIDGEHEAD_LDAP_PASSWORD"] ?? "").utf8))
    }

    /// A secret file's contents without the final line break.
    private func readSecret(_ file: String) throws(ConfigurationError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError(file: path, key: "ldap.password_file", reason: "cannot read '\(file)'")
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

/// Typed access to one TOML table, with errors that name the key.
struct TableReader {
    let table: TOMLTable
    let file: String
    let base: URL
    var prefix = ""

    private func wrong(_ key: String, _ expected: String) -> ConfigurationError {
        ConfigurationError(file: file, key: prefix + key, reason: "must be \(expected)")
    }

    func table(_ key: String) throws(ConfigurationError) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let result = value.table else { throw wrong(key, "a table ([\(prefix + key)])") }
        return result
    }

    /// An array of tables (`[[key]]`, or `key = [{…}, {…}]`); empty when absent.
    func tables(_ key: String) throws(ConfigurationError) -> [TOMLTable] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else { throw wrong(key, "an array of tables ([[\(prefix + key)]])") }
        var result: [TOMLTable] = []
        for element in array {
            guard let item = element.table else { throw wrong(key, "an array of tables ([[\(prefix + key)]])") }
            result.append(item)
        }
        return result
    }

    func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw wrong(key, "an array of strings") }
        var result: [String] = []
        for element in array {
            guard let text = element.string else { throw wrong(key, "an array of strings") }
            result.append(text)
        }
        return result
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let result = value.string else { throw wrong(key, "a string in quotes") }
        return result
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let result = value.bool else { throw wrong(key, "true or false") }
        return result
    }

    func double(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = table[key] else { return nil }
        if let result = value.double { return result }
        if let result = value.int { return Double(result) }
        throw wrong(key, "a number")
    }

    /// A file path; a relative one is taken from the configuration file's directory.
    func path(_ key: String) throws(ConfigurationError) -> String? {
        guard let text = try string(key) else { return nil }
        if text.hasPrefix("/") { return text }
        return base.appendingPathComponent(text).standardizedFileURL.path
    }
}
