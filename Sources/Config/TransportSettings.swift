import Foundation

/// How a site's outgoing messages leave it: `[publish]`'s messages, and `[agent]`'s requests for what
/// a gap lacks. The same keys in both sections.
public struct TransportSettings: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Into a Maildir (`deliver_maildir`): a data diode's spool, a file transfer, a peer on this host.
        case maildir
        /// Through a sendmail-compatible program (`sendmail`), `-i -t`, the message on its input.
        case sendmail
        /// To an SMTP server (`smtp_url`): STARTTLS required except on this machine, or smtps://.
        case smtp
    }

    public var kind: Kind
    public var deliverMaildir: String?
    public var sendmail = "/usr/sbin/sendmail"
    /// `smtp://host[:port]` (STARTTLS; port 587 by default) or `smtps://host[:port]` (465).
    public var smtpURL: String?
    public var smtpUser: String?
    public var smtpPasswordFile: String?
    public var smtpCAFile: String?

    public init(kind: Kind) { self.kind = kind }

    /// The transport keys of a section (`section` is "publish" or "agent", for errors); `kind`
    /// defaults to `defaultKind`.
    static func parse(_ reader: TableReader, file: String, section: String, defaultKind: Kind) throws(ConfigurationError) -> TransportSettings {
        let text = try reader.string("transport") ?? defaultKind.rawValue
        guard let kind = Kind(rawValue: text) else {
            throw ConfigurationError(
                file: file, key: "\(section).transport", reason: "'\(text)' is not one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var settings = TransportSettings(kind: kind)
        settings.deliverMaildir = try reader.path("deliver_maildir")
        if kind == .maildir, settings.deliverMaildir == nil {
            throw ConfigurationError(
                file: file, key: "\(section).deliver_maildir", reason: "missing; transport = \"maildir\" needs deliver_maildir = \"/path/Maildir\"")
        }
        settings.sendmail = try reader.path("sendmail") ?? settings.sendmail
        settings.smtpURL = try reader.string("smtp_url")
        settings.smtpUser = try reader.string("smtp_user")
        settings.smtpPasswordFile = try reader.path("smtp_password_file")
        settings.smtpCAFile = try reader.path("smtp_ca_file")
        if kind == .smtp {
            guard let url = settings.smtpURL else {
                throw ConfigurationError(
                    file: file, key: "\(section).smtp_url", reason: "missing; transport = \"smtp\" needs smtp_url = \"smtp://mail.example.com:587\"")
            }
            let lower = url.lowercased()
            guard lower.hasPrefix("smtp://") || lower.hasPrefix("smtps://"), let host = URLComponents(string: url)?.host, !host.isEmpty else {
                throw ConfigurationError(file: file, key: "\(section).smtp_url", reason: "'\(url)' is not smtp://host[:port] or smtps://host[:port]")
            }
            if settings.smtpUser != nil, settings.smtpPasswordFile == nil {
                throw ConfigurationError(file: file, key: "\(section).smtp_password_file", reason: "missing; smtp_user needs a password file")
            }
        }
        return settings
    }
}
