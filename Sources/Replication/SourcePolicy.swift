import LDAPModel

/// What one source may do (DESIGN.md "Policy"): write only under its subtrees, touch only the
/// entries it created, only the attributes it is allowed, never operational ones, and delete no more
/// than a threshold per message. The checks run before anything is applied; a message that breaks
/// one is held or quarantined whole.
public struct SourcePolicy: Sendable {
    public var source: String
    /// The target subtrees of the source's naming rules.
    public var subtrees: [DN]
    /// When set, the only attributes the source may write (objectClass is always allowed).
    public var allowedAttributes: Set<String>?
    public var deniedAttributes: Set<String>
    /// Most deletes one message may carry (Entra Connect's default is 500).
    public var maxDeletes: Int?

    public init(source: String, subtrees: [DN], allowedAttributes: Set<String>? = nil, deniedAttributes: Set<String> = [], maxDeletes: Int? = 500) {
        self.source = source
        self.subtrees = subtrees
        self.allowedAttributes = allowedAttributes.map { Set($0.map { $0.lowercased() }) }
        self.deniedAttributes = Set(deniedAttributes.map { $0.lowercased() })
        self.maxDeletes = maxDeletes
    }

    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        public enum Kind: String, Sendable, Hashable {
            case outOfScope, notOwned, attribute, deleteThreshold
        }
        public var kind: Kind
        /// 1-based position of the record in the message; 0 for the message as a whole.
        public var record: Int
        public var reason: String
        public var description: String { record > 0 ? "record \(record): \(reason)" : reason }
    }

    /// Attributes the agent itself maintains; a source never writes them.
    static let reserved: Set<String> = [
        "bridgeheadowner", "bridgeheadsourceid", "bridgeheadsequence", "bridgeheadmessageid", "bridgeheadappliedtime",
    ]

    /// Checks `records` (already resolved to target DNs). `owners` gives, for each existing entry the
    /// records touch (by normalised DN), the source recorded as its owner (nil: not created by any source).
    public func check(_ records: [ChangeRecord], owners: [String: String?], schema: Subschema? = nil) -> [Violation] {
        var violations: [Violation] = []
        var deletes = 0
        for (offset, record) in records.enumerated() {
            let number = offset + 1
            var targets = [record.dn]
            if let renamed = record.renamedDN { targets.append(renamed) }
            for target in targets where !subtrees.contains(where: { target.isWithin($0) }) {
                violations.append(Violation(kind: .outOfScope, record: number, reason: "\(target) is outside the subtrees of \(source)"))
            }
            switch record.change {
            case .add(let attributes):
                // Adding an entry this source already owns is a replay: the planner makes it a modify.
                if let owner = owners[record.dn.normalized], owner != source {
                    violations.append(
                        Violation(kind: .notOwned, record: number, reason: "\(record.dn) already exists" + (owner.map { " (owned by \($0))" } ?? "")))
                }
                violations += attributes.compactMap { attributeViolation($0.description, number, schema) }
            case .modify(let modifications):
                violations += ownership(record.dn, number, owners)
                violations += modifications.compactMap { attributeViolation($0.attribute, number, schema) }
            case .delete:
                deletes += 1
                violations += ownership(record.dn, number, owners)
            case .modifyDN:
                violations += ownership(record.dn, number, owners)
            }
        }
        if let maxDeletes, deletes > maxDeletes {
            violations.append(
                Violation(
                    kind: .deleteThreshold, record: 0,
                    reason: "\(deletes) deletes exceed the threshold of \(maxDeletes) for \(source); an operator must allow it"))
        }
        return violations
    }

    private func ownership(_ dn: DN, _ number: Int, _ owners: [String: String?]) -> [Violation] {
        guard let recorded = owners[dn.normalized] else { return [] }  // missing entries fail at apply time, not here
        guard let owner = recorded else { return [Violation(kind: .notOwned, record: number, reason: "\(dn) was not created by any source")] }
        guard owner == source else { return [Violation(kind: .notOwned, record: number, reason: "\(dn) belongs to \(owner), not \(source)")] }
        return []
    }

    /// Whether this source may write `attribute` at all (not reserved, operational, denied or outside the allow list).
    public func mayWrite(_ attribute: AttributeDescription, schema: Subschema?) -> Bool {
        attributeViolation(attribute, 0, schema) == nil
    }

    private func attributeViolation(_ attribute: AttributeDescription, _ number: Int, _ schema: Subschema?) -> Violation? {
        let name = attribute.type.lowercased()
        if name == "objectclass" { return nil }
        if Self.reserved.contains(name) {
            return Violation(kind: .attribute, record: number, reason: "\(attribute.type) is kept by the agent, not by sources")
        }
        if let schema, schema.isOperational(attribute.type) {
            return Violation(kind: .attribute, record: number, reason: "\(attribute.type) is operational; sources never write it")
        }
        if deniedAttributes.contains(name) { return Violation(kind: .attribute, record: number, reason: "\(attribute.type) is denied for \(source)") }
        if let allowed = allowedAttributes, !allowed.contains(name) {
            return Violation(kind: .attribute, record: number, reason: "\(attribute.type) is not among the attributes \(source) may write")
        }
        return nil
    }
}
