import Addressing
import Foundation
import MessageFormat

extension Configuration {
    /// A receiver's requests for what a gap lacks (`[agent] sign_cert`, `sign_key`, `resend_after_hours`
    /// and the transport keys): sent to a source whose messages have waited behind a gap for longer
    /// than `resendAfter`, at most once per gap per `resendAfter`.
    public struct RequestSettings: Sendable, Hashable {
        public var signCertificate: String
        public var signKey: String
        public var transport: TransportSettings
        /// Seconds a gap waits before its request; and between two requests for the same gap.
        public var resendAfter: Double
        /// The requests' From: the first e-mail address of `[agent] addresses`.
        public var from: String

        /// Nil when `[agent]` has no `sign_cert` (requests are off).
        static func parse(_ reader: TableReader, agent: AgentSettings, file: String) throws(ConfigurationError) -> RequestSettings? {
            guard let certificate = try reader.path("sign_cert") else {
                if try reader.path("sign_key") != nil {
                    throw ConfigurationError(file: file, key: "agent.sign_cert", reason: "missing; sign_key needs its certificate")
                }
                return nil
            }
            guard let key = try reader.path("sign_key") else {
                throw ConfigurationError(file: file, key: "agent.sign_key", reason: "missing; requests are signed with sign_cert and sign_key")
            }
            guard agent.id != nil else {
                throw ConfigurationError(
                    file: file, key: "agent.id",
                    reason: "missing; a request names its sender, so set id = \"site-b\" (this receiver's id at its sources)")
            }
            let from = agent.addresses.first { text in
                guard let address = try? AddressParser.parse(text), case .smtp = address.form else { return false }
                return !text.contains("\r") && !text.contains("\n")
            }
            guard let from else {
                throw ConfigurationError(
                    file: file, key: "agent.addresses",
                    reason: "needs an e-mail address, like [\"dra@site-b.example.com\"]: requests are sent from it")
            }
            let hours = try reader.double("resend_after_hours") ?? 4
            guard hours >= 0 else { throw ConfigurationError(file: file, key: "agent.resend_after_hours", reason: "must not be negative") }
            return RequestSettings(
                signCertificate: certificate, signKey: key,
                transport: try TransportSettings.parse(reader, file: file, section: "agent", defaultKind: .smtp), resendAfter: hours * 3600,
                from: from)
        }
    }

    /// One `[[peer]]` of a publishing site: a receiver whose requests it answers.
    public struct PeerSettings: Sendable, Hashable {
        public var id: String
        /// Where answers go (its e-mail addresses), and what a CA-issued signer must carry.
        public var addresses: [String]
        public var certificate: String

        /// The SMTP-form addresses, lower-cased.
        public var mailAddresses: [String] {
            addresses.compactMap { text -> String? in
                guard let address = try? AddressParser.parse(text), case .smtp = address.form else { return nil }
                return address.value.lowercased()
            }
        }

        static func parse(_ reader: TableReader, file: String) throws(ConfigurationError) -> [PeerSettings] {
            var peers: [PeerSettings] = []
            for (index, table) in try reader.tables("peer").enumerated() {
                let key = "peer[\(index + 1)]"
                let section = TableReader(table: table, file: file, base: reader.base, prefix: key + ".")
                guard let id = try section.string("id"), ReplicationMessage.isValidSource(id) else {
                    throw ConfigurationError(file: file, key: key + ".id", reason: "missing, or not of the form [a-z0-9._-]+")
                }
                guard !peers.contains(where: { $0.id == id }) else {
                    throw ConfigurationError(file: file, key: key + ".id", reason: "'\(id)' is configured twice")
                }
                guard let certificate = try section.path("certificate") else {
                    throw ConfigurationError(file: file, key: key + ".certificate", reason: "missing; a peer's requests are verified against it")
                }
                let peer = PeerSettings(id: id, addresses: try section.strings("addresses") ?? [], certificate: certificate)
                guard !peer.mailAddresses.isEmpty else {
                    throw ConfigurationError(
                        file: file, key: key + ".addresses", reason: "needs an e-mail address, like [\"dra@site-b.example.com\"]: answers go to it")
                }
                peers.append(peer)
            }
            return peers
        }
    }
}
