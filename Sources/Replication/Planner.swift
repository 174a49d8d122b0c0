import Config
import Foundation
import LDAPClient
import LDAPModel
import LDIF
import MessageFormat

/// Turns one message into a plan: maps its DNs into our namespace, resolves its references, checks
/// the source's policy, reads the live entries and keeps only what changes them. The same plan is
/// printed by a dry run and applied by a real one.
public struct Planner: Sendable {
    public let source: String
    public let naming: [NamingRule]
    public let policy: SourcePolicy
    public let schema: Subschema
    public let resolver: AddressResolver
    public let view: DirectoryView
    let matcher: ValueMatcher
    let names: SchemaNames
    /// The values the agent writes into every entry it owns: the owner, and (when the record does
    /// not list it) the class that marks it replicated.
    let ownerValues: [[UInt8]]
    static let replicatedClassValues = [Array(replicatedClass.utf8)]
    /// A full plan whose operations write more than this many bytes of values is kept in a
    /// temporary file, not in memory (nil: always held). Only a real run sets it: a spilled plan
    /// keeps no effects for the messages after it, which a dry run needs.
    public var spillAbove: Int?

    /// The auxiliary class and attribute that mark an entry as a source's.
    static let replicatedClass = BridgeheadSchema.replicated
    static let ownerAttribute = BridgeheadSchema.owner.type
    static let owner = BridgeheadSchema.owner

    /// The source recorded as the entry's owner.
    static func owner(of entry: Entry?) -> String? { entry?.strings(owner).first }

    public init(source: String, naming: [NamingRule], policy: SourcePolicy, schema: Subschema, resolver: AddressResolver, view: DirectoryView) {
        self.source = source
        self.naming = naming
        self.names = SchemaNames(schema: schema)
        self.policy = policy.resolved(names)
        self.schema = schema
        self.resolver = resolver
        self.view = view
        self.matcher = ValueMatcher(schema: schema)
        self.ownerValues = [Array(source.utf8)]
    }

    /// The plan of `message`. A full message's records may come from `records` instead (a large
    /// message's, read from its file a batch at a time); otherwise they are the message's own.
    /// (A streamed full message's `records` are empty: plan it with `records:` from its candidate,
    /// or it would be planned as a message that lists nothing.)
    public func plan(_ message: ReplicationMessage, records: RecordBatches? = nil) async throws(PlanError) -> MessagePlan {
        switch message.kind {
        case .delta:
            let translation = try await translate(try checked(message.records, first: 1), first: 1)
            try await checkTargets(translation.records, translation.targets)
            return try await planDelta(translation.records, translation.references)
        case .full: return try await planFull(records ?? RecordBatches(message.records))
        case .request: throw .refused("a request carries nothing to apply")
        }
    }

    // MARK: Namespace and references

    /// A source DN in our namespace (through the first naming rule that covers it), or unchanged.
    func map(_ dn: DN) -> DN {
        guard let rule = naming.first(where: { dn.isWithin($0.from) }) else { return dn }
        return dn.replacingSuffix(rule.from, with: rule.to) ?? dn
    }

    /// A message's records in our namespace.
    struct Translation {
        var records: [ChangeRecord] = []
        /// Per record, the references that were rewritten (for people: what became of an address).
        var references: [[ResolvedReference]] = []
        /// Per record, every reference it writes (rewritten or not; not a value it only removes),
        /// each of which must name an entry (`checkTargets`).
        var targets: [[ResolvedReference]] = []
    }

    /// Records of a message (the first numbered `first`) as change records, every name in them the
    /// schema's own, and what they write (attributes, object classes, values) judged: all that needs
    /// nothing from the directory or the run, so that a large message's next batch is checked on
    /// the thread that reads it while the planner works on the one before (`RecordBatches`).
    func checked(_ written: [LDIFRecord], first: Int) throws(PlanError) -> [ChangeRecord] {
        var records: [ChangeRecord] = []
        records.reserveCapacity(written.count)
        for (offset, record) in written.enumerated() {
            let index = first - 1 + offset
            let change: ChangeRecord
            switch record {
            case .content(let entry): change = .add(entry)
            case .change(let written):
                guard written.controls.isEmpty else { throw .refused("record \(index + 1): controls are not accepted in replication messages") }
                change = written
            }
            // Every name as the schema's own, before any policy looks at it (an OID is not a way around a rule).
            do {
                records.append(try names.canonical(change))
            } catch {
                throw .refused("record \(index + 1): \(error)")
            }
        }
        // What the records write (attributes, object classes, values) is judged before anything is
        // looked up for them; where they write and whose entries, once their DNs are ours.
        let violations = policy.check(records, schema: schema, judging: .content, first: first)
        if !violations.isEmpty { throw .refused(Self.summary(violations)) }
        return records
    }

    /// Checked records (`checked`; the first numbered `first`) with DNs mapped and DN-valued
    /// attributes resolved.
    func translate(_ records: [ChangeRecord], first: Int) async throws(PlanError) -> Translation {
        // Every DN-valued value, resolved in one go (one directory search for all the addresses).
        var wanted: [String] = []
        var wantedSet: Set<String> = []
        var holdsDNs = PositionalMemo<String, Bool>()
        func collect(_ attribute: AttributeDescription, at place: Int, _ values: [[UInt8]]) {
            guard matcher.holdsDistinguishedNames(attribute.type, at: place, &holdsDNs) else { return }
            for value in values {
                let text = String(decoding: value, as: UTF8.self)
                if wantedSet.insert(text).inserted { wanted.append(text) }
            }
        }
        for record in records {
            switch record.change {
            case .add(let attributes):
                for (place, attribute) in attributes.enumerated() { collect(attribute.description, at: place, attribute.values) }
            case .modify(let modifications):
                for (place, modification) in modifications.enumerated() { collect(modification.attribute, at: place, modification.values) }
            default: break
            }
        }
        let resolutions: [Resolution]
        do {
            resolutions = try await resolver.resolve(wanted, overlay: view.overlay)
        } catch {
            throw .directory(error)
        }
        let resolved = Dictionary(uniqueKeysWithValues: zip(wanted, resolutions))

        var translation = Translation()
        for (offset, record) in records.enumerated() {
            let index = first - 1 + offset
            var found: [ResolvedReference] = []
            var targets: [ResolvedReference] = []
            func rewrite(_ attribute: AttributeDescription, at place: Int, _ values: [[UInt8]], lenient: Bool) throws(PlanError) -> [[UInt8]] {
                guard matcher.holdsDistinguishedNames(attribute.type, at: place, &holdsDNs) else { return values }
                var out: [[UInt8]] = []
                for value in values {
                    let text = String(decoding: value, as: UTF8.self)
                    switch resolved[text] ?? .notFound {
                    case .resolved(let dn, let via):
                        out.append(Array(dn.description.utf8))
                        let reference = ResolvedReference(attribute: attribute.description, original: text, target: dn, via: via)
                        if text != dn.description { found.append(reference) }
                        // (A value only removed may name what is gone already: removing it is the cure.)
                        if !lenient { targets.append(reference) }
                    case let failure:
                        // A value to remove that names nothing we know cannot be in the directory either.
                        if lenient { continue }
                        throw .refused("record \(index + 1): \(attribute) '\(text)' \(Self.explain(failure))")
                    }
                }
                return out
            }
            var change = record.change
            switch record.change {
            case .add(let attributes):
                var rewritten: [Attribute] = []
                rewritten.reserveCapacity(attributes.count)
                for (place, attribute) in attributes.enumerated() {
                    rewritten.append(
                        Attribute(attribute.description, values: try rewrite(attribute.description, at: place, attribute.values, lenient: false)))
                }
                change = .add(renamingRDN(rewritten, from: record.dn, to: map(record.dn)))
            case .modify(let modifications):
                var rewritten: [Modification] = []
                for (place, modification) in modifications.enumerated() {
                    let values = try rewrite(modification.attribute, at: place, modification.values, lenient: modification.operation == .delete)
                    // A delete of values none of which resolved removes nothing.
                    if modification.operation == .delete, !modification.values.isEmpty, values.isEmpty { continue }
                    rewritten.append(Modification(modification.operation, modification.attribute, values: values))
                }
                change = .modify(rewritten)
            case .modifyDN(let rdn, let deleteOld, let superior):
                change = .modifyDN(newRDN: rdn, deleteOldRDN: deleteOld, newSuperior: superior.map(map))
            case .delete: break
            }
            translation.records.append(ChangeRecord(dn: map(record.dn), change: change))
            translation.references.append(found)
            translation.targets.append(targets)
        }
        return translation
    }

    /// A reference must name an entry that exists, or that this message creates: never a dangling DN.
    /// (Or one this message deletes or renames away: a run interrupted after that step, planned
    /// again, finds it gone, as the message itself leaves it.)
    func checkTargets(_ records: [ChangeRecord], _ references: [[ResolvedReference]]) async throws(PlanError) {
        var created: Set<String> = []
        for record in records {
            switch record.change {
            case .add: created.insert(record.dn.normalized)
            case .modifyDN:
                created.insert(record.renamedDN!.normalized)
                created.insert(record.dn.normalized)
            case .delete: created.insert(record.dn.normalized)
            case .modify: break
            }
        }
        let targets = references.enumerated().flatMap { index, found in found.map { (number: index + 1, reference: $0) } }
        try await checkExist(targets.filter { !created.contains($0.reference.target.normalized) })
    }

    /// Each reference's target exists in the directory (or as the run's earlier messages left it),
    /// and is not among the entries the plan deletes (`deleted`, by normalised DN).
    func checkExist(_ targets: [(number: Int, reference: ResolvedReference)], deleted: Set<String> = []) async throws(PlanError) {
        guard !targets.isEmpty else { return }
        let known: [String: Entry?]
        do {
            known = try await view.load(targets.map(\.reference.target))
        } catch {
            throw .directory(error)
        }
        for (number, reference) in targets {
            let key = reference.target.normalized
            let why: String
            if deleted.contains(key) {
                why = "which this full message does not list (it would be deleted)"
            } else if (known[key] ?? nil) == nil {
                why = "which does not exist here"
            } else {
                continue
            }
            throw .refused(
                "record \(number): \(reference.attribute) '\(reference.original)' resolves to \(reference.target) (\(reference.via)), " + why)
        }
    }

    /// When a naming rule changes an entry's own RDN (the source's top entry, ou=SiteA → ou=site-a),
    /// the naming values change with it: the entry must hold its new RDN, and need not keep the old.
    func renamingRDN(_ attributes: [Attribute], from old: DN, to new: DN) -> [Attribute] {
        // (Below the top entry a naming rule changes only the suffix: the RDN is the same value.)
        guard let oldRDN = old.rdn, let newRDN = new.rdn, oldRDN != newRDN, oldRDN.normalized != newRDN.normalized else { return attributes }
        var result = attributes
        for ava in oldRDN.attributes {
            for index in result.indices where result[index].description.type.lowercased() == ava.type.lowercased() {
                result[index].values.removeAll { matcher.same(ava.type, $0, ava.value) }
            }
        }
        for ava in newRDN.attributes {
            if let index = result.firstIndex(where: { $0.description.type.lowercased() == ava.type.lowercased() }) {
                if !matcher.contains(ava.type, result[index].values, ava.value) { result[index].values.append(ava.value) }
            } else {
                result.append(Attribute(AttributeDescription(type: ava.type), values: [ava.value]))
            }
        }
        return result.filter { !$0.values.isEmpty }
    }

    static func explain(_ resolution: Resolution) -> String {
        switch resolution {
        case .resolved(let dn, _): "resolves to \(dn)"
        case .notFound: "names no entry in this directory (no naming rule covers it and no entry holds the address)"
        case .ambiguous(let dns): "is held by several entries: " + dns.map(\.description).joined(separator: "; ")
        case .outOfScope(let dn): "resolves to \(dn), outside the search base"
        case .invalid(let reason): "is not a DN or address: \(reason)"
        }
    }

    // MARK: Policy

    func check(_ records: [ChangeRecord], _ live: [String: Entry?], first: Int = 1) throws(PlanError) {
        // The owners of the entries the records name, as they are now.
        var owners: [String: String?] = [:]
        for record in records {
            var keys = [record.dn.normalized]
            if let renamed = record.renamedDN { keys.append(renamed.normalized) }
            for key in keys where owners[key] == nil {
                guard let entry = live[key] ?? nil else { continue }
                owners[key] = .some(Self.owner(of: entry))
            }
        }
        // What the records write was judged before anything was resolved (`checked`).
        let violations = policy.check(records, owners: owners, schema: schema, judging: .placement, first: first)
        if let threshold = violations.first(where: { $0.kind == .deleteThreshold }) { throw .overThreshold(threshold.reason) }
        if !violations.isEmpty { throw .refused(Self.summary(violations)) }
    }

    /// The first few violations, for a quarantine reason.
    static func summary(_ violations: [SourcePolicy.Violation]) -> String {
        violations.prefix(5).map(\.description).joined(separator: "; ") + (violations.count > 5 ? "; and \(violations.count - 5) more" : "")
    }
}
