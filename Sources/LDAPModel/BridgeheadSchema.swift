/// The project's own schema (schema/bridgehead.schema): the one place its names are spelled.
public enum BridgeheadSchema {
    /// Auxiliary class of every entry a source created; `owner` names the source.
    public static let replicated = "bridgeheadReplicated"
    /// The source that owns an entry (only that source may change or delete it).
    public static let owner: AttributeDescription = "bridgeheadOwner"
    /// One entry per source under `state_dn`: what has been applied from it.
    public static let replicaState = "bridgeheadReplicaState"
    public static let sourceID: AttributeDescription = "bridgeheadSourceID"
    public static let sequence: AttributeDescription = "bridgeheadSequence"
    public static let messageID: AttributeDescription = "bridgeheadMessageID"
    public static let appliedTime: AttributeDescription = "bridgeheadAppliedTime"
    /// A publisher's state under its `state_dn`: the last sequence sent, the log position, the time.
    public static let publisherState = "bridgeheadPublisherState"
    /// The entryCSN of the last accesslog entry a publisher captured ("0": the log was empty).
    public static let logPosition: AttributeDescription = "bridgeheadLogPosition"
    /// A receiver's last request to a source for what a gap lacks, and when: `resend N-M 20261203101500Z`.
    public static let request: AttributeDescription = "bridgeheadRequest"
    /// An address of this entry in a foreign form, for resolution (listed in `[resolve] attributes`).
    public static let foreignAddress: AttributeDescription = "bridgeheadForeignAddress"

    /// Attributes the agent itself maintains, lower-cased: a source never writes them.
    public static let reserved: Set<String> = Set(
        [owner, sourceID, sequence, messageID, appliedTime, logPosition, request].map { $0.type.lowercased() })
}
