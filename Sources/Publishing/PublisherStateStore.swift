import Foundation
import LDAPClient
import LDAPModel

/// What a publishing site has sent: the last sequence number given to a message, and the log position
/// (entryCSN of the last accesslog entry captured) that message reaches.
public struct PublisherState: Sendable, Hashable, Codable {
    public var sequence: UInt64
    /// nil: nothing captured yet (the next message is a full one); "0": the log was empty then.
    public var position: String?
    public var time: Date?

    public init(sequence: UInt64, position: String?, time: Date? = nil) {
        self.sequence = sequence
        self.position = position
        self.time = time
    }
}

/// The publisher's state entry, `cn=SOURCE,STATE_DN` (class bridgeheadPublisherState), in the source
/// directory. Every advance asserts the state it read, so two publishers (or a publisher and a restored
/// backup) can never both number messages from the same state.
public struct PublisherStateStore: Sendable {
    public let connection: LDAPConnection
    public let container: DN
    public let source: String

    public init(connection: LDAPConnection, container: DN, source: String) {
        self.connection = connection
        self.container = container
        self.source = source
    }

    public var entryDN: DN { container.child(RDN("cn", source)) }

    public func ensureContainer() async throws(LDAPError) {
        try await connection.ensureOrganizationalUnit(container, purpose: "state_dn")
    }

    /// The state; nil when there is no entry yet (or, in a dry run, no container).
    public func read() async throws(LDAPError) -> PublisherState? {
        let entry: Entry?
        do {
            entry = try await connection.read(entryDN)
        } catch  where error.code == .noSuchObject {
            return nil
        }
        guard let entry else { return nil }
        guard entry.strings("objectClass").contains(where: { $0.lowercased() == BridgeheadSchema.publisherState.lowercased() }) else {
            throw LDAPError(
                code: .objectClassViolation,
                diagnosticMessage:
                    "\(entryDN) is not a \(BridgeheadSchema.publisherState) entry (is source_id also a source this site receives from?)",
                operation: "read the publisher state")
        }
        guard let sequence = entry.strings(BridgeheadSchema.sequence).first.flatMap({ UInt64($0) }) else {
            throw LDAPError(
                code: .other, diagnosticMessage: "\(entryDN): bridgeheadSequence is not a sequence number; correct it with ldapmodify",
                operation: "read the publisher state")
        }
        return PublisherState(
            sequence: sequence, position: entry.strings(BridgeheadSchema.logPosition).first,
            time: entry.strings(BridgeheadSchema.appliedTime).first.flatMap(GeneralizedTime.parse).map { Date(timeIntervalSince1970: Double($0)) })
    }

    /// Records `next`, asserting `previous` (nil: there is no entry yet, and it is made). Fails with
    /// assertionFailed (or entryAlreadyExists) when another writer got there first.
    public func advance(from previous: PublisherState?, to next: PublisherState) async throws(LDAPError) {
        var values = [
            Attribute(BridgeheadSchema.sequence, strings: [String(next.sequence)]),
            Attribute(BridgeheadSchema.appliedTime, strings: [GeneralizedTime.format(Int64((next.time ?? Date()).timeIntervalSince1970))]),
        ]
        if let position = next.position { values.append(Attribute(BridgeheadSchema.logPosition, strings: [position])) }
        let record: ChangeRecord
        if let previous {
            var assertion: Filter = .equality(BridgeheadSchema.sequence, String(previous.sequence))
            if let position = previous.position {
                assertion = .and([assertion, .equality(BridgeheadSchema.logPosition, position)])
            }
            record = ChangeRecord(
                dn: entryDN, change: .modify(values.map { Modification(.replace, $0.description, values: $0.values) }),
                controls: [.assertion(assertion)])
        } else {
            record = .add(
                Entry(
                    dn: entryDN,
                    attributes: [
                        Attribute("objectClass", strings: [BridgeheadSchema.publisherState]), Attribute("cn", strings: [source]),
                        Attribute(BridgeheadSchema.sourceID, strings: [source]),
                    ] + values))
        }
        let result = try await connection.apply(record)
        guard result.code == .success else { throw result.error("advance the publisher state of \(source)") }
    }
}
