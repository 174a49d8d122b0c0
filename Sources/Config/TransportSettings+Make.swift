import Foundation
import MailDrop

extension TransportSettings {
    /// The transport these settings name (an SMTP password read from its file). `section` names
    /// the configuration section in errors; `from` gives the SMTP HELO name its domain.
    public func make(_ configuration: Configuration, section: String, from: String) throws(ConfigurationError) -> any MessageTransport {
        switch kind {
        case .maildir: return MaildirTransport(root: deliverMaildir ?? "")
        case .sendmail: return SendmailTransport(program: sendmail)
        case .smtp:
            let password = try smtpPasswordFile.map { file throws(ConfigurationError) in
                String(decoding: try configuration.secret(file, key: "\(section).smtp_password_file"), as: UTF8.self)
            }
            do {
                let domain = from.split(separator: "@").last.map(String.init)
                var settings = try SMTPSettings(url: smtpURL ?? "", user: smtpUser, password: password, caFile: smtpCAFile)
                if settings.heloName == "localhost", let domain { settings.heloName = domain }
                return SMTPTransport(settings: settings)
            } catch {
                throw ConfigurationError(file: configuration.path, key: "\(section).smtp_url", reason: error.reason)
            }
        }
    }
}

extension Configuration {
    /// The transport `[publish]` names.
    public func makeTransport() throws(ConfigurationError) -> any MessageTransport {
        guard let publish else { throw ConfigurationError(file: path, key: "publish", reason: "missing [publish] section") }
        return try publish.transport.make(self, section: "publish", from: publish.from)
    }
}
