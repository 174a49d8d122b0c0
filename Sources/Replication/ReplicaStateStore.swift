import Foundation
import LDAPClient
import LDAPModel
import MessageFormat

#if canImport(Glibc)
    import Glibc
#endif

/// What the directory records of one source: the last sequence applied, its Message-ID and when.
public struct ReplicaState: Sendable, Hashable {
    public var source: String
    public var sequence: UInt64
    public var messageID: String?
    public var applied: Date?
    /// The last request sent to this source for what a gap lacked, and when (`bridgeheadRequest`).
    public var request: RecordedRequest?

    /// The claim of an agent applying the next message, when one is recorded instead of a Message-ID.
    public var claim: SourceClaim? { messageID.flatMap(SourceClaim.init(token:)) }

    public init(source: String, sequence: UInt64, messageID: String? = nil, applied: Date? = nil, request: RecordedRequest? = nil) {
        self.source = source
        self.sequence = sequence
        self.messageID = messageID
        self.applied = applied
        self.request = request
    }
}

/// A request as the receiver's state records it: `resend 17-23 20261203101500Z`.
public struct RecordedRequest: Sendable, Hashable {
    public var request: ReplicationMessage.Request
    public var time: Date

    public init(request: ReplicationMessage.Request, time: Date) {
        self.request = request
        self.time = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
    }

    public init?(_ text: String) {
        guard let space = text.lastIndex(of: " "), let request = ReplicationMessage.Request(String(text[..<space])),
            let seconds = GeneralizedTime.parse(String(text[text.index(after: space)...]))
        else { return nil }
        self.init(request: request, time: Date(timeIntervalSince1970: Double(seconds)))
    }

    public var text: String { "\(request) \(GeneralizedTime.format(Int64(time.timeIntervalSince1970)))" }
}

/// An agent's claim on a source while it applies one message, so that agents on different hosts
/// sharing a directory never apply the same source at once (one of them would write a message's
/// changes after the other had applied the messages after it). It is recorded in the state entry's
/// bridgeheadMessageID, written with an assertion on the state as the agent read it, and replaced by
/// the applied message's identity when the message's state update (which asserts the claim) is made.
public struct SourceClaim: Sendable, Hashable {
    public var sequence: UInt64
    public var time: Date
    /// Who claims: the host and the lock file of the agent, `host-1a2b3c4d`.
    public var holder: String

    public init(sequence: UInt64, time: Date, holder: String) {
        self.sequence = sequence
        self.time = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
        self.holder = holder
    }

    /// `<claim.SEQUENCE.EPOCH.HOLDER@bridgehead.invalid>`
    public var token: String { "<claim.\(sequence).\(Int64(time.timeIntervalSince1970)).\(holder)@bridgehead.invalid>" }

    public init?(token: String) {
        guard token.hasPrefix("<claim."), token.hasSuffix("@bridgehead.invalid>") else { return nil }
        let parts = token.dropFirst("<claim.".count).dropLast("@bridgehead.invalid>".count).split(separator: ".", maxSplits: 2)
        guard parts.count == 3, let sequence = UInt64(parts[0]), let epoch = Int64(parts[1]) else { return nil }
        self.init(sequence: sequence, time: Date(timeIntervalSince1970: Double(epoch)), holder: String(parts[2]))
    }

    /// This agent's name in claims: its host, and its lock file (two agents on one host need two).
    public static func holder(lockFile: String) -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }
        // FNV-1a of the lock file's path.
        var hash: UInt32 = 2_166_136_261
        for byte in lockFile.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(String(host).prefix(60)) + "-" + String(hash, radix: 16)
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
        try await connection.ensureOrganizationalUnit(container, purpose: "state_dn")
    }

    /// Every source's state.
    public func read() async throws(LDAPError) -> [String: ReplicaState] {
        let entries = try await connection.search(
            SearchRequest(base: container, scope: .oneLevel, filter: .equality("objectClass", BridgeheadSchema.replicaState), pageSize: 500))
        var states: [String: ReplicaState] = [:]
        for entry in entries {
            guard let source = entry.strings(BridgeheadSchema.sourceID).first else { continue }
            // A state the agent cannot read must stop it: read as "nothing applied", every message
            // would be planned again from the first.
            let text = entry.strings(BridgeheadSchema.sequence).first ?? ""
            guard let sequence = UInt64(text), sequence <= ReplicationMessage.maxSequence else {
                throw LDAPError(
                    code: .other, diagnosticMessage: "bridgeheadSequence '\(text.prefix(40))' is not a sequence number; correct it with ldapmodify",
                    operation: "read the state of source \(source) at \(entry.dn)")
            }
            states[source] = ReplicaState(
                source: source, sequence: sequence, messageID: entry.strings(BridgeheadSchema.messageID).first,
                applied: entry.strings(BridgeheadSchema.appliedTime).first.flatMap(Self.parseTime),
                request: entry.strings(BridgeheadSchema.request).first.flatMap(RecordedRequest.init))
        }
        return states
    }

    /// The change that claims the source for applying `claim.sequence`, from the state as this agent
    /// read it (`current`; nil: the source has no state entry yet, which the claim then creates with
    /// sequence 0). It fails (assertionFailed, or entryAlreadyExists) when the state moved meanwhile.
    public func claim(_ source: String, current: ReplicaState?, claim: SourceClaim) -> ChangeRecord {
        guard let current else {
            return newEntry(
                source, [Attribute(BridgeheadSchema.sequence, strings: ["0"]), Attribute(BridgeheadSchema.messageID, strings: [claim.token])])
        }
        let sameID: Filter = current.messageID.map { .equality(BridgeheadSchema.messageID, $0) } ?? .not(.present(BridgeheadSchema.messageID))
        return ChangeRecord(
            dn: entryDN(source), change: .modify([Modification(.replace, BridgeheadSchema.messageID, strings: [claim.token])]),
            controls: [.assertion(.and([.equality(BridgeheadSchema.sequence, String(current.sequence)), sameID]))])
    }

    /// The change that gives up a claim (a message refused, or a run stopped), restoring the identity
    /// the state held before; it asserts the claim, so it never undoes another agent's work.
    public func release(_ source: String, claim: SourceClaim, restoring messageID: String?) -> ChangeRecord {
        ChangeRecord(
            dn: entryDN(source),
            change: .modify([
                messageID.map { Modification(.replace, BridgeheadSchema.messageID, strings: [$0]) }
                    ?? Modification(.delete, BridgeheadSchema.messageID)
            ]),
            controls: [.assertion(.equality(BridgeheadSchema.messageID, claim.token))])
    }

    /// The change that records `sequence` as applied — to send in the same transaction as the message's
    /// changes, or last. It asserts the previous sequence (and, when given, this agent's claim), so two
    /// agents can never both advance a source from the same state: the second one's update fails
    /// (assertionFailed), and with a transaction nothing of it is applied.
    public func advance(
        _ source: String, from previous: UInt64?, to sequence: UInt64, messageID: String?, at time: Date = Date(), claim: SourceClaim? = nil
    ) -> ChangeRecord {
        var values = [
            Attribute(BridgeheadSchema.sequence, strings: [String(sequence)]),
            Attribute(BridgeheadSchema.appliedTime, strings: [Self.formatTime(time)]),
        ]
        if let messageID { values.append(Attribute(BridgeheadSchema.messageID, strings: [messageID])) }
        guard let previous else { return newEntry(source, values) }
        var assertion: Filter = .equality(BridgeheadSchema.sequence, String(previous))
        if let claim { assertion = .and([assertion, .equality(BridgeheadSchema.messageID, claim.token)]) }
        return ChangeRecord(
            dn: entryDN(source), change: .modify(values.map { Modification(.replace, $0.description, values: $0.values) }),
            controls: [.assertion(assertion)])
    }

    /// The add of a source's state entry holding `values`.
    /// Records a request sent to `source` (its state entry is made, at sequence 0, when the source has
    /// none yet: a gap before its first message).
    public func recordRequest(_ source: String, _ request: RecordedRequest, exists: Bool) async throws(LDAPError) {
        let value = Attribute(BridgeheadSchema.request, strings: [request.text])
        if exists {
            _ = try await connection.apply(
                ChangeRecord(dn: entryDN(source), change: .modify([Modification(.replace, value.description, values: value.values)])))
        } else {
            _ = try await connection.apply(newEntry(source, [Attribute(BridgeheadSchema.sequence, strings: ["0"]), value]))
        }
    }

    private func newEntry(_ source: String, _ values: [Attribute]) -> ChangeRecord {
        .add(
            Entry(
                dn: entryDN(source),
                attributes: [
                    Attribute("objectClass", strings: [BridgeheadSchema.replicaState]), Attribute("cn", strings: [source]),
                    Attribute(BridgeheadSchema.sourceID, strings: [source]),
                ] + values))
    }

    // GeneralizedTime, UTC: 20261129093000Z
    static func formatTime(_ date: Date) -> String { GeneralizedTime.format(Int64(date.timeIntervalSince1970.rounded(.down))) }

    static func parseTime(_ text: String) -> Date? { GeneralizedTime.parse(text).map { Date(timeIntervalSince1970: Double($0)) } }
}
