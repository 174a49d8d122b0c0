import Config
import Foundation
import LDAPClient
import LDAPModel
import MailDrop

/// What a configuration opens: the mail drop, the LDAP connection's options and credentials, the
/// search base. The configuration itself is pure (module Config); reading secrets, building drops
/// and asking the server are done here, when a command needs them.
extension Configuration {
    /// The drop `[mail]` names; `readOnly` for runs that must change nothing in it (an IMAP mailbox is
    /// then opened with EXAMINE; a Maildir is only read anyway).
    public func makeDrop(readOnly: Bool = false) throws(ConfigurationError) -> any MailDrop {
        guard let mail else {
            throw ConfigurationError(file: path, key: "mail", reason: "missing [mail] section: set maildir = \"/path/Maildir\" or imap_url")
        }
        if let maildir = mail.maildir {
            return Maildir(root: maildir, processedFolder: mail.processedFolder, quarantineFolder: mail.quarantineFolder)
        }
        guard let passwordFile = mail.imapPasswordFile else {
            throw ConfigurationError(file: path, key: "mail.imap_password_file", reason: "missing; imap_url needs a password file")
        }
        var settings = try imapSettings(mail, passwordFile: passwordFile)
        settings.readOnly = readOnly
        return IMAPDrop(settings: settings, processedFolder: mail.processedFolder, quarantineFolder: mail.quarantineFolder)
    }

    /// What waits for new messages in the drop (`sync --watch`): inotify on a Maildir, IMAP IDLE on a
    /// mailbox (its connection is opened by the first wait).
    public func makeWatcher() throws(ConfigurationError) -> any DropWatcher {
        guard let mail else {
            throw ConfigurationError(file: path, key: "mail", reason: "missing [mail] section: set maildir = \"/path/Maildir\" or imap_url")
        }
        if let maildir = mail.maildir {
            do {
                return try MaildirWatcher(root: maildir)
            } catch {
                throw ConfigurationError(file: path, key: "mail.maildir", reason: error.message)
            }
        }
        return IMAPWatcher(settings: try imapSettings(mail, passwordFile: mail.imapPasswordFile ?? ""))
    }

    private func imapSettings(_ mail: MailSettings, passwordFile: String) throws(ConfigurationError) -> IMAPSettings {
        let password = String(decoding: try secret(passwordFile, key: "mail.imap_password_file"), as: UTF8.self)
        do {
            var settings = try IMAPSettings(
                url: mail.imapURL ?? "", user: mail.imapUser ?? "", password: password, caFile: mail.imapCAFile,
                allowPlaintext: mail.imapAllowPlaintext)
            settings.maxMessageSize = mail.maxMessageBytes
            return settings
        } catch {
            throw ConfigurationError(file: path, key: "mail.imap_url", reason: error.message)
        }
    }

    /// Where addresses are looked up: `[resolve] base`, or else the server's first naming context
    /// (nil when it names none).
    public func searchBase(on connection: LDAPConnection) async throws(LDAPError) -> DN? {
        if let text = resolve.base, let dn = DN(text) { return dn }
        return try await connection.rootDSE().strings("namingContexts").first.flatMap(DN.init)
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
            let password = try ldap.passwordFile.map { file throws(ConfigurationError) in String(decoding: try secret(file), as: UTF8.self) }
            return .sasl(
                mechanism: mechanism, authenticationID: ldap.saslAuthenticationID, password: password, authorizationID: ldap.saslAuthorizationID)
        }
        guard let bindDN = ldap.bindDN else { return .anonymous }
        if let file = ldap.passwordFile { return .simple(dn: bindDN, password: try secret(file)) }
        return .simple(dn: bindDN, password: Array((ProcessInfo.processInfo.environment["BRIDGEHEAD_LDAP_PASSWORD"] ?? "").utf8))
    }
}

extension Configuration.SourceSettings {
    /// The policy these settings describe.
    public var policy: SourcePolicy {
        SourcePolicy(
            source: id, subtrees: naming.map(\.to), allowedAttributes: allowAttributes.map(Set.init), deniedAttributes: Set(denyAttributes),
            allowedObjectClasses: allowObjectClasses.map(Set.init), deniedObjectClasses: Set(denyObjectClasses), allowRootIDs: allowRootIDs,
            maxDeletes: maxDeletes)
    }
}
