import Foundation
import LDAPClient
import LDAPModel

/// What the directory records of one source: the last sequence applied, its Message-ID and when.
public struct ReplicaState: Sendable, Hashable {
    public var source: String
    public var sequence: UInt64
    public var messageID: String?
    public var applied: Date?

    public init(source: String, sequence: UInt64, messageID: String? = nil, applied: Date? = nil) {
        self.source = source
        self.sequence = sequence
        self.messageID = messageID
        self.applied = applied
    }
}

/// The per-source state entries under `state_dn` (schema: bridgeheadReplicaState), kept in the
/// directory so that agents on different hosts share them and OpenLDAP replicates them.
public struct ReplicaStateStore: Sendable {
    public let connection: LDAPConnection
    public let container: DN

    public init(connection: LDAPConnection, container: DN) {
        self.connection = connection
        self.container = container
    }

    public func entryDN(_ source: String) -> DN { container.child(RDN("cn", source)) }

    /// Creates the container (an organizationalUnit) when it is missing.
    public func ensureContainer() async throws(LDAPError) {
        guard try await connection.read(container, attributes: ["1.1"]) == nil else { return }
        guard let rdn = container.rdn, rdn.attributes.count == 1, rdn.attributes[0].type.lowercased() == "ou" else {
            throw LDAPError(
                code: .noSuchObject, diagnosticMessage: "state_dn \(container) does not exist; create it, or name it ou=…",
                operation: "prepare the state container")
        }
        try await connection.apply(
            .add(
                Entry(
                    dn: container,
                    attributes: [Attribute("objectClass", strings: ["organizationalUnit"]), Attribute("ou", values: [rdn.attributes[0].value])])))
    }

    /// Every source's state.
    public func read() async throws(LDAPError) -> [String: ReplicaState] {
        let entries = try await connection.search(
            SearchRequest(base: container, scope: .oneLevel, filter: .equality("objectClass", "bridgeheadReplicaState"), pageSize: 500))
        var states: [String: ReplicaState] = [:]
        for entry in entries {
            guard let source = entry.strings("bridgeheadSourceID").first else { continue }
            // A state the agent cannot read must stop it: read as "nothing applied", every message
            // would be planned again from the first.
            let text = entry.strings("bridgeheadSequence").first ?? ""
            guard let sequence = UInt64(text), sequence <= ReplicationMessage.maxSequence else {
                throw LDAPError(
                    code: .other, diagnosticMessage: "bridgeheadSequence '\(text.prefix(40))' is not a sequence number; correct it with ldapmodify",
                    operation: "read the state of source \(source) at \(entry.dn)")
            }
            states[source] = ReplicaState(
                source: source, sequence: sequence, messageID: entry.strings("bridgeheadMessageID").first,
                applied: entry.strings("bridgeheadAppliedTime").first.flatMap(Self.parseTime))
        }
        return states
    }

    /// The change that records `sequence` as applied — to send in the same transaction as the message's
    /// changes. It asserts the previous sequence, so two agents can never both advance a source from
    /// the same state: the second one's transaction fails (assertionFailed) and nothing of it is applied.
    public func advance(_ source: String, from previous: UInt64?, to sequence: UInt64, messageID: String?, at time: Date = Date()) -> ChangeRecord {
        var values = [
            Attribute("bridgeheadSequence", strings: [String(sequence)]), Attribute("bridgeheadAppliedTime", strings: [Self.formatTime(time)]),
        ]
        if let messageID { values.append(Attribute("bridgeheadMessageID", strings: [messageID])) }
        guard let previous else {
            return .add(
                Entry(
                    dn: entryDN(source),
                    attributes: [
                        Attribute("objectClass", strings: ["bridgeheadReplicaState"]), Attribute("cn", strings: [source]),
                        Attribute("bridgeheadSourceID", strings: [source]),
                    ] + values))
        }
        return ChangeRecord(
            dn: entryDN(source), change: .modify(values.map { Modification(.replace, $0.description, values: $0.values) }),
            controls: [.assertion(.equality("bridgeheadSequence", String(previous)))])
    }

    // GeneralizedTime, UTC: 20261129093000Z
    static func formatTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss'Z'"
        return formatter.string(from: date)
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss'Z'"
        return formatter.date(from: text)
    }
}
