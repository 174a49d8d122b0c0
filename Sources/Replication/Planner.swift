import Foundation
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
    public var changes: [PlannedChange]
    /// Records (or content entries) that change nothing in the directory as it is.
    public var unchanged: Int
    /// The entries as the plan leaves them (by normalised DN; nil: deleted), for planning what follows.
    var effects: [String: Entry?] = [:]
    public var deletes: Int { changes.count { if case .delete = $0.record.change { true } else { false } } }
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

/// The entries a run has read or planned, so that each message is planned against the directory as
/// the messages before it left it (also in a dry run, where nothing before it was written).
public final class DirectoryView: @unchecked Sendable {
    let connection: LDAPConnection
    /// The attributes addresses are resolved through (`[resolve] attributes`).
    let addressAttributes: [String]
    /// All guarded by `lock`:
    /// by normalised DN, the entry, or nil when it does not exist (read, or left so by the run);
    private var entries: [String: Entry?] = [:]
    /// the DNs the run's planned messages changed (created, modified, renamed away or to, deleted);
    private var planned: Set<String> = []
    /// for each address (canonical form), the planned entries holding it, by normalised DN;
    private var holders: [String: [String: AddressResolver.Holder]] = [:]
    /// the addresses each planned entry holds;
    private var addresses: [String: [String]] = [:]
    /// how many times the view was forgotten (resolvers drop what they found under an older one).
    private var generation = 0
    private let lock = NSLock()

    public init(connection: LDAPConnection, addressAttributes: [String] = ["mail", "proxyAddresses", "legacyExchangeDN"]) {
        self.connection = connection
        self.addressAttributes = addressAttributes
    }

    /// The entries at `dns` (by normalised DN), read from the directory where not yet known.
    func load(_ dns: [DN]) async throws(LDAPError) -> [String: Entry?] {
        var result: [String: Entry?] = [:]
        var missing: [DN] = []
        lock.withLock {
            for dn in dns {
                let key = dn.normalized
                guard result[key] == nil else { continue }
                if let known = entries[key] {
                    result[key] = .some(known)
                } else {
                    missing.append(dn)
                    result[key] = .some(nil)  // placeholder, replaced below
                }
            }
        }
        if !missing.isEmpty {
            let read = try await connection.read(missing, attributes: ["*"], window: 256)
            lock.withLock {
                for (dn, entry) in zip(missing, read) {
                    // A planned message may have settled it meanwhile: what it left wins.
                    if planned.contains(dn.normalized), let known = entries[dn.normalized] {
                        result[dn.normalized] = .some(known)
                        continue
                    }
                    entries[dn.normalized] = .some(entry)
                    result[dn.normalized] = .some(entry)
                }
            }
        }
        return result
    }

    /// Records what a planned message leaves behind.
    func commit(_ changed: [String: Entry?]) {
        lock.withLock {
            for (key, value) in changed {
                entries[key] = .some(value)
                planned.insert(key)
                for canonical in addresses.removeValue(forKey: key) ?? [] { holders[canonical]?[key] = nil }
                guard let entry = value else { continue }
                let forms = AddressResolver.forms(of: entry, attributes: addressAttributes)
                addresses[key] = Array(forms.keys)
                for (canonical, via) in forms { holders[canonical, default: [:]][key] = AddressResolver.Holder(dn: entry.dn, via: via) }
            }
        }
    }

    /// Forgets what the run knows (after a failed apply the directory is read again).
    func forget() {
        lock.withLock {
            entries = [:]
            planned = []
            holders = [:]
            addresses = [:]
            generation += 1
        }
    }

    /// Everything the view knows: entries read, and what earlier messages of this run left.
    func knownEntries() -> [String: Entry?] { lock.withLock { entries } }

    /// What the run's planned messages did, for address resolution.
    public var overlay: RunOverlay { RunOverlay(view: self, generation: lock.withLock { generation }) }

    fileprivate func isPlanned(_ dn: DN) -> Bool { lock.withLock { planned.contains(dn.normalized) } }

    fileprivate func plannedHolders(of canonical: String) -> [AddressResolver.Holder] {
        lock.withLock { holders[canonical].map { Array($0.values) } ?? [] }.sorted { $0.dn.normalized < $1.dn.normalized }
    }
}

/// What the messages planned so far in a run did to the directory, as address resolution sees it:
/// which entries they changed, and which of those hold an address. The run's own effects take
/// precedence over what the directory holds, in a dry run (which wrote nothing) as in a real run.
public struct RunOverlay: Sendable {
    let view: DirectoryView
    /// The view's generation when this overlay was taken.
    let generation: Int

    /// Whether the run changed (or removed, or moved) the entry at `dn`: then its planned state decides.
    func changed(_ dn: DN) -> Bool { view.isPlanned(dn) }

    /// The entries the run left holding `canonical`.
    func holders(of canonical: String) -> [AddressResolver.Holder] { view.plannedHolders(of: canonical) }
}

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

    /// The auxiliary class and attribute that mark an entry as a source's.
    static let replicatedClass = "bridgeheadReplicated"
    static let ownerAttribute = "bridgeheadOwner"
    static let owner = AttributeDescription(type: ownerAttribute)

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
    }

    public func plan(_ message: ReplicationMessage) async throws(PlanError) -> MessagePlan {
        let (records, references) = try await translate(message)
        switch message.kind {
        case .delta: return try await planDelta(records, references)
        case .full: return try await planFull(records, references)
        }
    }

    // MARK: Namespace and references

    /// A source DN in our namespace (through the first naming rule that covers it), or unchanged.
    func map(_ dn: DN) -> DN {
        guard let rule = naming.first(where: { dn.isWithin($0.from) }) else { return dn }
        return dn.replacingSuffix(rule.from, with: rule.to) ?? dn
    }

    /// The message's records with DNs mapped and DN-valued attributes resolved; references per record.
    private func translate(_ message: ReplicationMessage) async throws(PlanError) -> ([ChangeRecord], [[ResolvedReference]]) {
        var records: [ChangeRecord] = []
        for (index, record) in message.records.enumerated() {
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
        let written = policy.check(records, owners: [:], schema: schema).filter { $0.kind.isAboutContent }
        if !written.isEmpty { throw .refused(Self.summary(written)) }
        // Every DN-valued value, resolved in one go (one directory search for all the addresses).
        var wanted: [String] = []
        var wantedSet: Set<String> = []
        func collect(_ attribute: AttributeDescription, _ values: [[UInt8]]) {
            guard matcher.holdsDistinguishedNames(attribute.type) else { return }
            for value in values {
                let text = String(decoding: value, as: UTF8.self)
                if wantedSet.insert(text).inserted { wanted.append(text) }
            }
        }
        for record in records {
            switch record.change {
            case .add(let attributes): for attribute in attributes { collect(attribute.description, attribute.values) }
            case .modify(let modifications): for modification in modifications { collect(modification.attribute, modification.values) }
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

        var result: [ChangeRecord] = []
        var references: [[ResolvedReference]] = []
        for (index, record) in records.enumerated() {
            var found: [ResolvedReference] = []
            func rewrite(_ attribute: AttributeDescription, _ values: [[UInt8]], lenient: Bool) throws(PlanError) -> [[UInt8]] {
                guard matcher.holdsDistinguishedNames(attribute.type) else { return values }
                var out: [[UInt8]] = []
                for value in values {
                    let text = String(decoding: value, as: UTF8.self)
                    switch resolved[text] ?? .notFound {
                    case .resolved(let dn, let via):
                        out.append(Array(dn.description.utf8))
                        if text != dn.description {
                            found.append(ResolvedReference(attribute: attribute.description, original: text, target: dn, via: via))
                        }
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
                for attribute in attributes {
                    rewritten.append(Attribute(attribute.description, values: try rewrite(attribute.description, attribute.values, lenient: false)))
                }
                change = .add(renamingRDN(rewritten, from: record.dn, to: map(record.dn)))
            case .modify(let modifications):
                var rewritten: [Modification] = []
                for modification in modifications {
                    let values = try rewrite(modification.attribute, modification.values, lenient: modification.operation == .delete)
                    // A delete of values none of which resolved removes nothing.
                    if modification.operation == .delete, !modification.values.isEmpty, values.isEmpty { continue }
                    rewritten.append(Modification(modification.operation, modification.attribute, values: values))
                }
                change = .modify(rewritten)
            case .modifyDN(let rdn, let deleteOld, let superior):
                change = .modifyDN(newRDN: rdn, deleteOldRDN: deleteOld, newSuperior: superior.map(map))
            case .delete: break
            }
            result.append(ChangeRecord(dn: map(record.dn), change: change))
            references.append(found)
        }
        // A reference must name an entry that exists, or that this message creates: never a dangling DN.
        // (Or one this message deletes or renames away: a run interrupted after that step, planned
        // again, finds it gone, as the message itself leaves it.)
        var created: Set<String> = []
        for record in result {
            switch record.change {
            case .add: created.insert(record.dn.normalized)
            case .modifyDN:
                created.insert(record.renamedDN!.normalized)
                created.insert(record.dn.normalized)
            case .delete: created.insert(record.dn.normalized)
            case .modify: break
            }
        }
        let targets = references.flatMap { $0.map(\.target) }.filter { !created.contains($0.normalized) }
        if !targets.isEmpty {
            let known: [String: Entry?]
            do {
                known = try await view.load(targets)
            } catch {
                throw .directory(error)
            }
            for (index, found) in references.enumerated() {
                for reference in found where !created.contains(reference.target.normalized) && (known[reference.target.normalized] ?? nil) == nil {
                    throw .refused(
                        "record \(index + 1): \(reference.attribute) '\(reference.original)' resolves to \(reference.target) (\(reference.via)), "
                            + "which does not exist here")
                }
            }
        }
        return (result, references)
    }

    /// When a naming rule changes an entry's own RDN (the source's top entry, ou=SiteA → ou=site-a),
    /// the naming values change with it: the entry must hold its new RDN, and need not keep the old.
    private func renamingRDN(_ attributes: [Attribute], from old: DN, to new: DN) -> [Attribute] {
        guard let oldRDN = old.rdn, let newRDN = new.rdn, oldRDN.normalized != newRDN.normalized else { return attributes }
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

    private func check(_ records: [ChangeRecord], _ live: [String: Entry?]) throws(PlanError) {
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
        let violations = policy.check(records, owners: owners, schema: schema)
        if let threshold = violations.first(where: { $0.kind == .deleteThreshold }) { throw .overThreshold(threshold.reason) }
        if !violations.isEmpty { throw .refused(Self.summary(violations)) }
    }

    /// The first few violations, for a quarantine reason.
    static func summary(_ violations: [SourcePolicy.Violation]) -> String {
        violations.prefix(5).map(\.description).joined(separator: "; ") + (violations.count > 5 ? "; and \(violations.count - 5) more" : "")
    }

    // MARK: delta

    private func planDelta(_ records: [ChangeRecord], _ references: [[ResolvedReference]]) async throws(PlanError) -> MessagePlan {
        var dns: [DN] = []
        for record in records {
            dns.append(record.dn)
            if let renamed = record.renamedDN { dns.append(renamed) }
            if case .add = record.change, let parent = record.dn.parent { dns.append(parent) }
        }
        var live: [String: Entry?]
        do {
            live = try await view.load(dns)
        } catch {
            throw .directory(error)
        }
        try check(records, live)

        var changed: [String: Entry?] = [:]
        func current(_ key: String) -> Entry? { (changed[key] ?? live[key]) ?? nil }
        func current(_ dn: DN) -> Entry? { current(dn.normalized) }
        var plan = MessagePlan(changes: [], unchanged: 0)
        // What happens to each DN later in this message: where it is deleted or renamed away, and where
        // something arrives at it (an add, or a rename to it).
        var leaves: [String: [Int]] = [:]
        var arrivals: [String: [Int]] = [:]
        for (index, record) in records.enumerated() {
            switch record.change {
            case .delete: leaves[record.dn.normalized, default: []].append(index)
            case .modifyDN:
                leaves[record.dn.normalized, default: []].append(index)
                arrivals[record.renamedDN!.normalized, default: []].append(index)
            case .add: arrivals[record.dn.normalized, default: []].append(index)
            case .modify: break
            }
        }
        /// Whether the entry at `dn` (missing now) was already carried past record `index` by an earlier,
        /// interrupted run: this message later deletes it, or renames it (and on, and on) to a DN that
        /// exists now. Then what record `index` would do is done; otherwise the entry is truly missing.
        func carriedOn(_ dn: DN, after index: Int) -> Bool {
            var here = dn
            var position = index
            while let next = leaves[here.normalized]?.first(where: { $0 > position }) {
                guard let renamed = records[next].renamedDN else { return true }  // deleted later
                here = renamed
                position = next
            }
            return position != index && ownedHere(here)
        }
        /// Whether the entry at `dn` exists and is this source's (a replay finds its own entries only).
        func ownedHere(_ dn: DN) -> Bool {
            Self.owner(of: current(dn)) == source
        }
        for (index, record) in records.enumerated() {
            let number = index + 1
            let key = record.dn.normalized
            switch record.change {
            case .add(let attributes):
                var desired = attributes
                desired = withAgentAttributes(desired)
                if let existing = current(key) {
                    // Added before by this source (policy checked the owner): make it equal instead.
                    if let change = difference(existing, desired, number, references[index]) {
                        plan.changes.append(change)
                        changed[key] = .some(applying(change.record, to: existing))
                    } else {
                        plan.unchanged += 1
                    }
                } else if carriedOn(record.dn, after: index) {
                    plan.unchanged += 1  // added, then renamed or deleted, by an interrupted run
                } else {
                    let entry = Entry(dn: record.dn, attributes: desired)
                    plan.changes.append(
                        PlannedChange(
                            record: .add(entry), sourceRecord: number,
                            values: entry.mergedAttributes.map { ValueChange(attribute: $0.description.description, added: $0.values, removed: []) },
                            references: references[index]))
                    changed[key] = .some(entry)
                }
            case .modify(let modifications):
                guard let existing = current(key) else {
                    if carriedOn(record.dn, after: index) {
                        plan.unchanged += 1
                        continue
                    }
                    throw .refused("record \(number): modify \(record.dn): no such entry")
                }
                let (effective, values) = try effectiveModifications(modifications, on: existing, number)
                guard !effective.isEmpty else {
                    plan.unchanged += 1
                    continue
                }
                let change = ChangeRecord(dn: record.dn, change: .modify(effective))
                plan.changes.append(PlannedChange(record: change, sourceRecord: number, values: values, references: references[index]))
                changed[key] = .some(applying(change, to: existing))
            case .delete:
                guard let existing = current(key) else {
                    plan.unchanged += 1  // already gone
                    continue
                }
                plan.changes.append(
                    PlannedChange(
                        record: record, sourceRecord: number,
                        values: existing.mergedAttributes.map { ValueChange(attribute: $0.description.description, added: [], removed: $0.values) },
                        references: []))
                changed[key] = .some(nil)
            case .modifyDN(let rdn, let deleteOld, _):
                let target = record.renamedDN!
                guard let existing = current(key) else {
                    // Renamed before: the entry is at the target, or was carried on from there.
                    if ownedHere(target) || carriedOn(target, after: index) {
                        plan.unchanged += 1
                        continue
                    }
                    throw .refused("record \(number): modrdn \(record.dn): no such entry")
                }
                if current(target) != nil, !target.matches(record.dn) {
                    // Both there: renamed before, and a later record of this message put a new entry
                    // at the old name. Otherwise the target is taken.
                    if ownedHere(target), arrivals[record.dn.normalized]?.contains(where: { $0 > index }) == true {
                        plan.unchanged += 1
                        continue
                    }
                    throw .refused("record \(number): modrdn \(record.dn): \(target) already exists")
                }
                var renamed = applying(
                    ChangeRecord(
                        dn: record.dn,
                        change: .modify(rdn.attributes.map { Modification(.add, AttributeDescription(type: $0.type), values: [$0.value]) })),
                    to: existing)
                if deleteOld, let old = record.dn.rdn {
                    for ava in old.attributes
                    where !rdn.attributes.contains(where: {
                        matcher.same($0.type, $0.value, ava.value) && $0.type.lowercased() == ava.type.lowercased()
                    }) {
                        renamed = applying(
                            ChangeRecord(
                                dn: record.dn, change: .modify([Modification(.delete, AttributeDescription(type: ava.type), values: [ava.value])])),
                            to: renamed)
                    }
                }
                renamed.dn = target
                plan.changes.append(PlannedChange(record: record, sourceRecord: number, values: [], references: []))
                changed[key] = .some(nil)
                changed[target.normalized] = .some(renamed)
            }
        }
        plan.effects = changed
        return plan
    }

    /// objectClass gains the auxiliary class, and the entry records its owner.
    private func withAgentAttributes(_ attributes: [Attribute]) -> [Attribute] {
        var result: [Attribute] = []
        var classes: [[UInt8]] = []
        for attribute in attributes {
            if attribute.description.type.lowercased() == "objectclass" {
                classes += attribute.values
            } else if attribute.description.type.lowercased() != Self.ownerAttribute.lowercased() {
                result.append(attribute)
            }
        }
        if !classes.contains(where: { String(decoding: $0, as: UTF8.self).lowercased() == Self.replicatedClass.lowercased() }) {
            classes.append(Array(Self.replicatedClass.utf8))
        }
        // The same value twice (one member named by two addresses, say) would make the server refuse the add.
        let unique = Entry(dn: .root, attributes: result).mergedAttributes.map { attribute in
            Attribute(attribute.description, values: matcher.unique(attribute.description.type, attribute.values))
        }
        return [Attribute("objectClass", values: classes)] + unique + [Attribute(Self.owner, strings: [source])]
    }

    /// The modifications that change `entry`, each reduced to what is not already so.
    private func effectiveModifications(
        _ modifications: [Modification], on entry: Entry, _ number: Int
    ) throws(PlanError) -> ([Modification], [ValueChange]) {
        var working = entry
        var result: [Modification] = []
        var values: [ValueChange] = []
        for var modification in modifications {
            let name = modification.attribute
            let present = working.values(name)
            if name.type.lowercased() == "objectclass", modification.operation == .replace,
                !modification.values.contains(where: { matcher.same("objectClass", $0, Array(Self.replicatedClass.utf8)) })
            {
                modification.values.append(Array(Self.replicatedClass.utf8))
            }
            switch modification.operation {
            case .add:
                let adding = matcher.subtracting(name.type, matcher.unique(name.type, modification.values), present)
                guard !adding.isEmpty else { continue }
                modification.values = adding
                values.append(ValueChange(attribute: name.description, added: adding, removed: []))
            case .delete:
                if modification.values.isEmpty {
                    guard !present.isEmpty else { continue }
                    values.append(ValueChange(attribute: name.description, added: [], removed: present))
                } else {
                    let removing = matcher.intersecting(name.type, modification.values, present)
                    guard !removing.isEmpty else { continue }
                    modification.values = removing
                    values.append(ValueChange(attribute: name.description, added: [], removed: removing))
                }
            case .replace:
                guard !matcher.sameSet(name.type, present, modification.values) else { continue }
                values.append(
                    ValueChange(
                        attribute: name.description, added: matcher.subtracting(name.type, modification.values, present),
                        removed: matcher.subtracting(name.type, present, modification.values)))
            case .increment:
                // Sent as the value it gives now, so that the change is the same however often it is planned.
                guard present.count == 1, let old = Int(String(decoding: present[0], as: UTF8.self)),
                    modification.values.count == 1, let step = Int(String(decoding: modification.values[0], as: UTF8.self))
                else {
                    throw .refused("record \(number): increment \(name) needs one integer value in the entry and in the record")
                }
                guard step != 0 else { continue }
                let (sum, overflow) = old.addingReportingOverflow(step)
                guard !overflow else {
                    throw .refused("record \(number): increment \(name) by \(step) would pass the largest integer this agent handles (from \(old))")
                }
                modification = Modification(.replace, name, values: [Array(String(sum).utf8)])
                values.append(ValueChange(attribute: name.description, added: modification.values, removed: present))
            }
            result.append(modification)
            working = applying(ChangeRecord(dn: entry.dn, change: .modify([modification])), to: working)
        }
        return (result, values)
    }

    /// The modify that makes `existing` hold exactly `desired` (in the attributes this source may
    /// write), or nil when it already does.
    private func difference(_ existing: Entry, _ desired: [Attribute], _ number: Int, _ references: [ResolvedReference]) -> PlannedChange? {
        var wanted: [String: Attribute] = [:]
        var order: [String] = []
        for attribute in Entry(dn: existing.dn, attributes: desired).mergedAttributes {
            let key = matcher.key(attribute.description)
            if wanted[key] == nil { order.append(key) }
            wanted[key] = attribute
        }
        var modifications: [Modification] = []
        var values: [ValueChange] = []
        var liveKeys: Set<String> = []
        for attribute in existing.mergedAttributes {
            let key = matcher.key(attribute.description)
            liveKeys.insert(key)
            if let target = wanted[key] {
                if !matcher.sameSet(attribute.description.type, attribute.values, target.values) {
                    modifications.append(Modification(.replace, attribute.description, values: target.values))
                    values.append(
                        ValueChange(
                            attribute: attribute.description.description,
                            added: matcher.subtracting(attribute.description.type, target.values, attribute.values),
                            removed: matcher.subtracting(attribute.description.type, attribute.values, target.values)))
                }
            } else if policy.mayWrite(attribute.description, schema: schema), attribute.description.type.lowercased() != "objectclass" {
                modifications.append(Modification(.delete, attribute.description))
                values.append(ValueChange(attribute: attribute.description.description, added: [], removed: attribute.values))
            }
        }
        for key in order where !liveKeys.contains(key) {
            let attribute = wanted[key]!
            modifications.append(Modification(.add, attribute.description, values: attribute.values))
            values.append(ValueChange(attribute: attribute.description.description, added: attribute.values, removed: []))
        }
        guard !modifications.isEmpty else { return nil }
        return PlannedChange(
            record: ChangeRecord(dn: existing.dn, change: .modify(modifications)), sourceRecord: number, values: values, references: references)
    }

    /// `entry` after a modify (or add, as a set of adds); the server's view, for planning what follows.
    private func applying(_ record: ChangeRecord, to entry: Entry) -> Entry {
        guard case .modify(let modifications) = record.change else { return entry }
        var attributes = entry.mergedAttributes
        for modification in modifications {
            let key = matcher.key(modification.attribute)
            let index = attributes.firstIndex { matcher.key($0.description) == key }
            switch modification.operation {
            case .add:
                if let index {
                    attributes[index].values += matcher.subtracting(modification.attribute.type, modification.values, attributes[index].values)
                } else {
                    attributes.append(Attribute(modification.attribute, values: modification.values))
                }
            case .delete:
                guard let index else { continue }
                if modification.values.isEmpty {
                    attributes.remove(at: index)
                } else {
                    attributes[index].values = matcher.subtracting(modification.attribute.type, attributes[index].values, modification.values)
                    if attributes[index].values.isEmpty { attributes.remove(at: index) }
                }
            case .replace, .increment:
                if let index { attributes.remove(at: index) }
                if !modification.values.isEmpty { attributes.append(Attribute(modification.attribute, values: modification.values)) }
            }
        }
        return Entry(dn: entry.dn, attributes: attributes)
    }

    // MARK: full

    private func planFull(_ records: [ChangeRecord], _ references: [[ResolvedReference]]) async throws(PlanError) -> MessagePlan {
        // What the source owns now: a search per subtree, then what this run already changed.
        var owned: [String: Entry] = [:]
        for subtree in policy.subtrees {
            let found: Result<[Entry], LDAPError>
            do {
                found = .success(
                    try await view.connection.search(
                        SearchRequest(
                            base: subtree, scope: .subtree, filter: .equality(Self.owner, source),
                            // Paged: a bind that is not the rootdn sees at most 500 entries a search by default.
                            attributes: ["*"], pageSize: 500)))
            } catch {
                found = .failure(error)
            }
            switch found {
            case .success(let entries): for entry in entries { owned[entry.dn.normalized] = entry }
            case .failure(let error) where error.code == .noSuchObject: continue  // a subtree that does not exist yet holds nothing
            case .failure(let error): throw .directory(error)
            }
        }
        for (key, entry) in view.knownEntries() {
            guard let dn = entry?.dn ?? DN(key), policy.subtrees.contains(where: { dn.isWithin($0) }) else { continue }
            owned[key] = Self.owner(of: entry) == source ? entry : nil
        }
        var live: [String: Entry?]
        do {
            live = try await view.load(records.map(\.dn) + owned.values.map(\.dn))
        } catch {
            throw .directory(error)
        }
        for (key, entry) in live { owned[key] = Self.owner(of: entry) == source ? entry : nil }
        let listed = Set(records.map(\.dn.normalized))
        let gone = owned.values.filter { !listed.contains($0.dn.normalized) }.sorted { $0.dn.rdns.count > $1.dn.rdns.count }
        try check(records + gone.map { ChangeRecord(dn: $0.dn, change: .delete) }, live)

        var plan = MessagePlan(changes: [], unchanged: 0)
        var changed: [String: Entry?] = [:]
        // Parents before children.
        let ordered = records.enumerated().sorted { ($0.element.dn.rdns.count, $0.offset) < ($1.element.dn.rdns.count, $1.offset) }
        for (index, record) in ordered {
            guard case .add(let attributes) = record.change else { continue }
            let desired = withAgentAttributes(attributes)
            if let existing = live[record.dn.normalized] ?? nil {
                if let change = difference(existing, desired, index + 1, references[index]) {
                    plan.changes.append(change)
                    changed[record.dn.normalized] = .some(applying(change.record, to: existing))
                } else {
                    plan.unchanged += 1
                }
            } else {
                let entry = Entry(dn: record.dn, attributes: desired)
                plan.changes.append(
                    PlannedChange(
                        record: .add(entry), sourceRecord: index + 1,
                        values: entry.mergedAttributes.map { ValueChange(attribute: $0.description.description, added: $0.values, removed: []) },
                        references: references[index]))
                changed[record.dn.normalized] = .some(entry)
            }
        }
        for entry in gone {
            plan.changes.append(
                PlannedChange(
                    record: ChangeRecord(dn: entry.dn, change: .delete), sourceRecord: 0,
                    values: entry.mergedAttributes.map { ValueChange(attribute: $0.description.description, added: [], removed: $0.values) },
                    references: []))
            changed[entry.dn.normalized] = .some(nil)
        }
        plan.effects = changed
        return plan
    }
}

/// Compares attribute values the way the server's equality rule would, closely enough to leave out
/// changes that change nothing: case-insensitive rules ignore case and repeated spaces, DN values
/// compare as DNs, telephone numbers without spaces and hyphens; anything else byte for byte.
struct ValueMatcher: Sendable {
    let schema: Subschema
    /// Equality rule by lower-cased attribute name, worked out once (following SUP).
    let rules: [String: String]
    /// OID by lower-cased name, and the names (lower-cased) of attributes whose values are DNs.
    let oids: [String: String]
    let distinguishedNames: Set<String>

    init(schema: Subschema) {
        self.schema = schema
        var rules: [String: String] = [:]
        var oids: [String: String] = [:]
        var distinguishedNames: Set<String> = []
        for type in schema.attributeTypes {
            let names = (type.names + [type.oid]).map { $0.lowercased() }
            for name in names { oids[name] = type.oid }
            if schema.holdsDistinguishedNames(type.oid) { distinguishedNames.formUnion(names) }
            guard let rule = schema.equality(of: type.oid)?.lowercased() else { continue }
            for name in names { rules[name] = rule }
        }
        self.rules = rules
        self.oids = oids
        self.distinguishedNames = distinguishedNames
    }

    func holdsDistinguishedNames(_ attribute: String) -> Bool { distinguishedNames.contains(attribute.lowercased()) }

    /// One key per attribute type, whatever name (or alias) a record used, with its options.
    func key(_ attribute: AttributeDescription) -> String {
        let lower = attribute.type.lowercased()
        let type = oids[lower] ?? lower
        if attribute.options.isEmpty { return type }
        return ([type] + attribute.options.map { $0.lowercased() }.sorted()).joined(separator: ";")
    }

    func normalize(_ attribute: String, _ value: [UInt8]) -> [UInt8] {
        let name = attribute.split(separator: ";").first.map { $0.lowercased() } ?? attribute.lowercased()
        let rule = rules[name] ?? ""
        if name == "objectclass" || rule.hasPrefix("objectidentifier") {
            return Array(String(decoding: value, as: UTF8.self).lowercased().utf8)
        }
        if rule == "distinguishednamematch" || rule == "uniquemembermatch" {
            if let dn = try? DN(parsing: value) { return Array(dn.normalized.utf8) }
            return value
        }
        if rule.hasPrefix("caseignore") || rule.hasPrefix("telephonenumber") || rule.hasPrefix("numericstring") {
            var text = String(decoding: value, as: UTF8.self).lowercased()
            if rule.hasPrefix("telephonenumber") || rule.hasPrefix("numericstring") {
                text.removeAll { $0 == " " || $0 == "-" }
            }
            return Array(text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ").utf8)
        }
        return value
    }

    func same(_ attribute: String, _ a: [UInt8], _ b: [UInt8]) -> Bool { normalize(attribute, a) == normalize(attribute, b) }

    func contains(_ attribute: String, _ values: [[UInt8]], _ value: [UInt8]) -> Bool {
        let wanted = normalize(attribute, value)
        return values.contains { normalize(attribute, $0) == wanted }
    }

    /// The values of `values` that `other` does not hold (each list normalised once).
    func subtracting(_ attribute: String, _ values: [[UInt8]], _ other: [[UInt8]]) -> [[UInt8]] {
        let held = Set(other.map { normalize(attribute, $0) })
        return values.filter { !held.contains(normalize(attribute, $0)) }
    }

    /// The values of `values` that `other` holds too.
    func intersecting(_ attribute: String, _ values: [[UInt8]], _ other: [[UInt8]]) -> [[UInt8]] {
        let held = Set(other.map { normalize(attribute, $0) })
        return values.filter { held.contains(normalize(attribute, $0)) }
    }

    /// `values` without repeats (the first of equal values is kept).
    func unique(_ attribute: String, _ values: [[UInt8]]) -> [[UInt8]] {
        var seen: Set<[UInt8]> = []
        return values.filter { seen.insert(normalize(attribute, $0)).inserted }
    }

    func sameSet(_ attribute: String, _ a: [[UInt8]], _ b: [[UInt8]]) -> Bool {
        Set(a.map { normalize(attribute, $0) }) == Set(b.map { normalize(attribute, $0) })
    }
}
