/// One change to the directory. The LDIF reader yields it, the planner emits it,
/// the LDIF writer writes it back, and the LDAP client sends it as the matching request.
public struct ChangeRecord: Hashable, Sendable {
    public var dn: DN
    public var change: Change
    /// Request controls (`control:` lines in LDIF).
    public var controls: [Control]

    public init(dn: DN, change: Change, controls: [Control] = []) {
        self.dn = dn
        self.change = change
        self.controls = controls
    }

    public enum Change: Hashable, Sendable {
        case add([Attribute])
        case delete
        case modify([Modification])
        /// `modrdn` / `moddn`: a new RDN, whether the old RDN values go, and an optional new parent.
        case modifyDN(newRDN: RDN, deleteOldRDN: Bool, newSuperior: DN?)
    }

    public static func add(_ entry: Entry, controls: [Control] = []) -> ChangeRecord {
        ChangeRecord(dn: entry.dn, change: .add(entry.attributes), controls: controls)
    }

    /// The LDIF changetype keyword.
    public var changeType: String {
        switch change {
        case .add: "add"
        case .delete: "delete"
        case .modify: "modify"
        case .modifyDN: "modrdn"
        }
    }

    /// For a modrdn, the entry's DN afterwards (under the new superior, or the same parent); else nil.
    public var renamedDN: DN? {
        guard case .modifyDN(let rdn, _, let superior) = change else { return nil }
        return (superior ?? dn.parent ?? .root).child(rdn)
    }
}

/// One modification of a modify request (RFC 4511 §4.6, RFC 4525 increment).
public struct Modification: Hashable, Sendable {
    public enum Operation: String, Hashable, Sendable, CaseIterable {
        case add, delete, replace, increment
    }

    public var operation: Operation
    public var attribute: AttributeDescription
    public var values: [[UInt8]]

    public init(_ operation: Operation, _ attribute: AttributeDescription, values: [[UInt8]] = []) {
        self.operation = operation
        self.attribute = attribute
        self.values = values
    }

    public init(_ operation: Operation, _ attribute: AttributeDescription, strings: [String]) {
        self.init(operation, attribute, values: strings.map { Array($0.utf8) })
    }
}
