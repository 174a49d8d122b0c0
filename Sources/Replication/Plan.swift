import LDAPClient
import LDAPModel
import LDIF

/// A DN-valued attribute value the source wrote as an address or source DN, and what it became.
public struct ResolvedReference: Sendable, Hashable {
    public var attribute: String
    public var original: String
    public var target: DN
    /// How it was resolved: a naming rule, or the attribute that held the address.
    public var via: String
}

/// The values one attribute gains and loses, for people to read (the dry run prints these).
public struct ValueChange: Sendable, Hashable {
    public var attribute: String
    public var added: [[UInt8]]
    public var removed: [[UInt8]]
}

/// One operation the plan sends, with what it does to the live entry.
public struct PlannedChange: Sendable, Hashable {
    /// The request, in our namespace, with references resolved; only effective modifications.
    public var record: ChangeRecord
    /// The message's record (1-based) it comes from; for a `full` message, the content record, or 0
    /// for a delete of an entry the message no longer lists.
    public var sourceRecord: Int
    public var values: [ValueChange]
    public var references: [ResolvedReference]
}

/// What applying one message changes: only effective operations, in the order to send them.
public struct MessagePlan: Sendable {
    public var changes: PlannedChanges
    /// Records (or content entries) that change nothing in the directory as it is.
    public var unchanged: Int
    /// The entries as the plan leaves them (by normalised DN; nil: deleted), for planning what follows.
    /// A spilled plan keeps none (only a real run spills: the directory holds them once it is applied).
    var effects: [String: Entry?] = [:]
    public var deletes: Int { changes.deletes }
}

/// Why a message cannot be applied as it is.
public enum PlanError: Error, Sendable, CustomStringConvertible {
    /// Against the message itself (policy, references, conflicts): quarantine it with this reason.
    case refused(String)
    /// More deletes than allowed: hold it until an operator allows it.
    case overThreshold(String)
    /// The directory could not be read: stop, try again later.
    case directory(LDAPError)

    public var description: String {
        switch self {
        case .refused(let reason), .overThreshold(let reason): reason
        case .directory(let error): "\(error)"
        }
    }
}
