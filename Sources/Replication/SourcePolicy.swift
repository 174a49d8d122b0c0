import LDAPModel

/// What one source may do (DESIGN.md "Policy"): write only under its subtrees, touch only the
/// entries it created, only the attributes and object classes it is allowed, never operational ones,
/// no entry with uid or gid 0, and delete no more than a threshold per message. The checks run before
/// anything is applied; a message that breaks one is held or quarantined whole.
///
/// Attribute types and object classes are judged by type, not by spelling: given the server's schema,
/// a name, an alias and an OID are the same type (the planner turns every name into the schema's own
/// first, `SchemaNames`), and a rule on a type also holds for its subtypes (denying `name` denies `cn`).
public struct SourcePolicy: Sendable {
    public var source: String
    /// The target subtrees of the source's naming rules.
    public var subtrees: [DN]
    /// When set, the only attributes the source may write (objectClass is always allowed).
    public var allowedAttributes: Set<String>?
    public var deniedAttributes: Set<String>
    /// When set, the only object classes the source may give an entry.
    public var allowedObjectClasses: Set<String>?
    public var deniedObjectClasses: Set<String>
    /// Whether an entry may get uidNumber or gidNumber 0 (root's ids): never, unless configured.
    public var allowRootIDs: Bool
    /// Most deletes one message may carry (Entra Connect's default is 500).
    public var maxDeletes: Int?

    /// Refused unless the allow list names them: an alias makes searches that dereference it return
    /// entries outside the source's subtree, a referral sends clients elsewhere.
    public static let unsafeObjectClasses: Set<String> = ["alias", "referral"]
    /// The attributes of those classes, refused likewise.
    public static let unsafeAttributes: Set<String> = ["aliasedobjectname", "ref"]

    public init(
        source: String, subtrees: [DN], allowedAttributes: Set<String>? = nil, deniedAttributes: Set<String> = [],
        allowedObjectClasses: Set<String>? = nil, deniedObjectClasses: Set<String> = [], allowRootIDs: Bool = false, maxDeletes: Int? = 500
    ) {
        self.source = source
        self.subtrees = subtrees
        self.allowedAttributes = allowedAttributes.map { Set($0.map { $0.lowercased() }) }
        self.deniedAttributes = Set(deniedAttributes.map { $0.lowercased() })
        self.allowedObjectClasses = allowedObjectClasses.map { Set($0.map { $0.lowercased() }) }
        self.deniedObjectClasses = Set(deniedObjectClasses.map { $0.lowercased() })
        self.allowRootIDs = allowRootIDs
        self.maxDeletes = maxDeletes
    }

    /// The same policy with every configured name turned into the schema's own (an OID or an alias
    /// in the configuration names the same type as its NAME).
    func resolved(_ names: SchemaNames) -> SourcePolicy {
        func attribute(_ name: String) -> String { names.lineage(ofAttribute: name).first ?? name.lowercased() }
        func objectClass(_ name: String) -> String { names.lineage(ofClass: name).first ?? name.lowercased() }
        var copy = self
        copy.allowedAttributes = allowedAttributes.map { Set($0.map(attribute)) }
        copy.deniedAttributes = Set(deniedAttributes.map(attribute))
        copy.allowedObjectClasses = allowedObjectClasses.map { Set($0.map(objectClass)) }
        copy.deniedObjectClasses = Set(deniedObjectClasses.map(objectClass))
        return copy
    }

    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        public enum Kind: String, Sendable, Hashable {
            case outOfScope, notOwned, attribute, objectClass, value, deleteThreshold
        }
        public var kind: Kind
        /// 1-based position of the record in the message; 0 for the message as a whole.
        public var record: Int
        public var reason: String
        public var description: String { record > 0 ? "record \(record): \(reason)" : reason }
    }

    /// What a check judges.
    public struct Aspects: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// What the records write: attributes, object classes, values.
        public static let content = Aspects(rawValue: 1)
        /// Where they write (the source's subtrees), whose entries, and how many deletes.
        public static let placement = Aspects(rawValue: 2)
        public static let all: Aspects = [.content, .placement]
    }

    /// Attributes the agent itself maintains; a source never writes them.
    static let reserved = BridgeheadSchema.reserved

    /// Checks `records` (already resolved to target DNs, names already the schema's). `owners` gives,
    /// for each existing entry the records touch (by normalised DN), the source recorded as its owner
    /// (nil: not created by any source).
    ///
    /// `judging` says what is checked: the planner judges `.content` before it resolves anything
    /// (the DNs are still the source's, so where they write means nothing yet), then `.placement`
    /// once the DNs are ours; placement still checks a record's naming attributes (a naming rule may
    /// give the entry another RDN).
    public func check(
        _ records: [ChangeRecord], owners: [String: String?] = [:], schema: Subschema? = nil, judging aspects: Aspects = .all, first: Int = 1
    ) -> [Violation] {
        let content = aspects.contains(.content)
        let placement = aspects.contains(.placement)
        let names = schema.map(SchemaNames.init)
        var memo = Verdicts()
        var violations: [Violation] = []
        var deletes = 0
        for (offset, record) in records.enumerated() {
            let number = offset + first
            for target in [record.dn, record.renamedDN] where placement {
                guard let target, !subtrees.contains(where: { target.isWithin($0) }) else { continue }
                violations.append(Violation(kind: .outOfScope, record: number, reason: "\(target) is outside the subtrees of \(source)"))
            }
            switch record.change {
            case .add(let attributes):
                // Adding an entry this source already owns is a replay: the planner makes it a modify.
                if placement, let owner = owners[record.dn.normalized], owner != source {
                    violations.append(
                        Violation(kind: .notOwned, record: number, reason: "\(record.dn) already exists" + (owner.map { " (owned by \($0))" } ?? "")))
                }
                if content {
                    for attribute in attributes { violations += written(attribute.description, attribute.values, number, names, &memo) }
                }
                // The naming attributes are written too, whether or not the entry lists them (and
                // checked again once the DN is ours: a naming rule may give the entry another RDN).
                for ava in record.dn.rdn?.attributes ?? [] {
                    violations += written(AttributeDescription(type: ava.type), [ava.value], number, names, &memo)
                }
            case .modify(let modifications):
                if placement { violations += ownership(record.dn, number, owners) }
                guard content else { continue }
                for modification in modifications {
                    // A delete removes values: only the type matters, not what the values would be.
                    violations += written(modification.attribute, modification.operation == .delete ? [] : modification.values, number, names, &memo)
                }
            case .delete:
                deletes += 1
                if placement { violations += ownership(record.dn, number, owners) }
            case .modifyDN(let newRDN, _, _):
                if placement { violations += ownership(record.dn, number, owners) }
                guard content else { continue }
                // The new RDN's values are written into the entry: each of its types is checked.
                for attribute in newRDN.attributes {
                    violations += written(AttributeDescription(type: attribute.type), [attribute.value], number, names, &memo)
                }
            }
        }
        if placement, let maxDeletes, deletes > maxDeletes {
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
        attributeViolation(attribute, schema.map(SchemaNames.init)) == nil
    }

    /// What one check has already judged, by name as written: a message names the same few
    /// attribute types and object classes in every record.
    private struct Verdicts {
        /// Per attribute type: what writing it breaks (kind and reason), and the root of its lineage.
        var attributes: [String: (violation: (Violation.Kind, String)?, root: String?)] = [:]
        var objectClasses: [String: (Violation.Kind, String)?] = [:]
    }

    /// What writing `values` of `attribute` breaks: the attribute itself, an object class among the
    /// values, or a root id.
    private func written(
        _ attribute: AttributeDescription, _ values: [[UInt8]], _ number: Int, _ names: SchemaNames?, _ memo: inout Verdicts
    ) -> [Violation] {
        let verdict: (violation: (Violation.Kind, String)?, root: String?)
        if let known = memo.attributes[attribute.type] {
            verdict = known
        } else {
            verdict = (attributeViolation(attribute, names), (names?.lineage(ofAttribute: attribute.type) ?? [attribute.type.lowercased()]).first)
            memo.attributes[attribute.type] = verdict
        }
        if let (kind, reason) = verdict.violation { return [Violation(kind: kind, record: number, reason: reason)] }
        var violations: [Violation] = []
        if verdict.root == "objectclass" {
            for value in values {
                let name = String(decoding: value, as: UTF8.self)
                let found: (Violation.Kind, String)?
                if let known = memo.objectClasses[name] {
                    found = known
                } else {
                    found = objectClassViolation(name, names)
                    memo.objectClasses[name] = found
                }
                if let (kind, reason) = found { violations.append(Violation(kind: kind, record: number, reason: reason)) }
            }
        }
        if !allowRootIDs, verdict.root == "uidnumber" || verdict.root == "gidnumber" {
            for value in values where Self.isZero(value) {
                violations.append(
                    Violation(
                        kind: .value, record: number,
                        reason: "\(attribute.type): 0 is root's id; sources never give it (allow_root_ids = true allows it)"))
            }
        }
        return violations
    }

    /// "0", "00", "+0", "-0", with spaces around: what the server would read as the integer zero.
    static func isZero(_ value: [UInt8]) -> Bool {
        var digits = String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespaces)[...]
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy { $0 == "0" }
    }

    private func objectClassViolation(_ name: String, _ names: SchemaNames?) -> (Violation.Kind, String)? {
        let lineage = names?.lineage(ofClass: name) ?? [name.lowercased()]
        let shown = SchemaNames.shown(name)
        if let allowed = allowedObjectClasses {
            // Allowed when the class or one above it is listed (abstract top is always implied).
            guard lineage.first == "top" || lineage.contains(where: { allowed.contains($0) }) else {
                return (.objectClass, "object class \(shown) is not among the classes \(source) may use")
            }
        }
        if let denied = lineage.first(where: { deniedObjectClasses.contains($0) }) {
            return (.objectClass, "object class \(shown) is denied for \(source)" + (denied == lineage.first ? "" : " (as a kind of \(denied))"))
        }
        if let unsafe = lineage.first(where: { Self.unsafeObjectClasses.contains($0) }), allowedObjectClasses?.contains(unsafe) != true {
            return (
                .objectClass, "object class \(shown) is refused unless allow_object_classes names \(unsafe) (it reaches outside the source's entries)"
            )
        }
        return nil
    }

    private func attributeViolation(_ attribute: AttributeDescription, _ names: SchemaNames?) -> (Violation.Kind, String)? {
        let lineage = names?.lineage(ofAttribute: attribute.type) ?? [attribute.type.lowercased()]
        let name = lineage.first ?? attribute.type.lowercased()
        let shown = SchemaNames.shown(attribute.type)
        if name == "objectclass" { return nil }
        if lineage.contains(where: { Self.reserved.contains($0) }) {
            return (.attribute, "\(shown) is kept by the agent, not by sources")
        }
        if let schema = names?.schema, schema.isOperational(attribute.type) {
            return (.attribute, "\(shown) is operational; sources never write it")
        }
        if let denied = lineage.first(where: { deniedAttributes.contains($0) }) {
            return (.attribute, "\(shown) is denied for \(source)" + (denied == name ? "" : " (as a kind of \(denied))"))
        }
        if let allowed = allowedAttributes, !lineage.contains(where: { allowed.contains($0) }) {
            return (.attribute, "\(shown) is not among the attributes \(source) may write")
        }
        if let unsafe = lineage.first(where: { Self.unsafeAttributes.contains($0) }), allowedAttributes?.contains(unsafe) != true {
            return (.attribute, "\(shown) is refused unless allow_attributes names it")
        }
        return nil
    }
}
