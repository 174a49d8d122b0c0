import Foundation
import LDAPClient
import LDAPModel
import LDIF

/// Full messages: the subtrees the source owns become exactly what the message lists.
///
/// A full message may list hundreds of thousands of entries, most of them unchanged (the re-sync
/// that repairs a gap), so neither its records nor the entries the source owns are held together.
/// What the source owns is kept as a digest of each entry's content; the records come a batch at a
/// time, and a record whose content has the digest of the entry it names changes nothing. Only the
/// others are compared with their entries, read for them. (Equal digests mean equal attributes and
/// values, byte for byte; different ones mean only "compare": values that differ in case under a
/// case-insensitive rule still match there.)
extension Planner {
    /// Records planned at a time.
    public static let fullBatch = 2_000

    /// What the source owns as the plan keeps it, by normalised DN: each entry's content digest
    /// (nil: compare it with the entry, as this run's earlier messages left it); and the DNs of the
    /// entries the run's earlier messages left it (the others are found again only if gone).
    struct Owned {
        var digests: [String: ContentDigest?] = [:]
        var known: [String: DN] = [:]
    }

    /// 128 bits over an entry's content: the sum of a keyed hash of each (attribute, value) pair, so
    /// that neither the order of the attributes nor of their values counts, and nothing is sorted or
    /// copied. (The hashes are keyed per process: a sender cannot choose values that collide.)
    struct ContentDigest: Hashable {
        var high: Int
        var low: Int
    }

    /// Hashers seeded and keyed for each attribute of the content digested last, by position.
    typealias DigestKeys = PositionalMemo<AttributeDescription, KeyedHashers>

    struct KeyedHashers {
        var high: Hasher
        var low: Hasher
    }

    func contentDigest(_ attributes: [Attribute], _ keys: inout DigestKeys) -> ContentDigest {
        var digest = ContentDigest(high: 0, low: 0)
        for (index, attribute) in attributes.enumerated() { add(attribute.description, attribute.values, at: index, to: &digest, &keys) }
        return digest
    }

    /// The digest of what `withAgentAttributes` makes of a record's `attributes`, without making
    /// it: the same (attribute, value) pairs, objectClass with the class that marks the entry as
    /// replicated, the owner. (A value listed twice, which `withAgentAttributes` keeps once, is
    /// counted twice here: that record's digest matches no entry's, and the record is compared
    /// with its entry instead.)
    func agentDigest(_ attributes: [Attribute], _ keys: inout DigestKeys) -> ContentDigest {
        var digest = ContentDigest(high: 0, low: 0)
        var marked = false
        for (index, attribute) in attributes.enumerated() {
            if attribute.description.hasType(Self.objectClass.type) {
                add(Self.objectClass, attribute.values, at: index, to: &digest, &keys)
                marked = marked || attribute.values.contains(where: Self.isReplicatedClass)
            } else if !attribute.description.hasType(Self.ownerAttribute) {
                add(attribute.description, attribute.values, at: index, to: &digest, &keys)
            }
        }
        if !marked { add(Self.objectClass, Self.replicatedClassValues, at: attributes.count, to: &digest, &keys) }
        add(Self.owner, ownerValues, at: attributes.count + 1, to: &digest, &keys)
        return digest
    }

    /// Adds a keyed hash of each (attribute, value) pair to `digest`.
    private func add(
        _ description: AttributeDescription, _ values: [[UInt8]], at index: Int, to digest: inout ContentDigest, _ keys: inout DigestKeys
    ) {
        // Seeded and keyed once per attribute (once per place while the attribute there is the
        // same), copied for each value.
        let keyed = keys.value(at: index, isSame: { $0 == description }) {
            var high = Hasher()
            var low = Hasher()
            high.combine(1 as UInt8)
            low.combine(2 as UInt8)
            let key = matcher.key(description)
            high.combine(key)
            low.combine(key)
            return (description, KeyedHashers(high: high, low: low))
        }
        for value in values {
            var high = keyed.high
            var low = keyed.low
            high.combine(value.count)
            low.combine(value.count)
            value.withUnsafeBytes { bytes in
                high.combine(bytes: bytes)
                low.combine(bytes: bytes)
            }
            digest.high &+= high.finalize()
            digest.low &+= low.finalize()
        }
    }

    /// The operations a full plan makes and the entries they leave (its effects), held until their
    /// values pass `limit` bytes; then the operations are all written to a spill file and the effects
    /// dropped (a spilled plan keeps none: only a real run spills).
    struct ChangeStore {
        let limit: Int?
        private(set) var held: [PlannedChange] = []
        private var effects: [String: Entry?] = [:]
        private var bytes = 0
        private(set) var spill: PlanSpill?
        private(set) var count = 0

        init(limit: Int?) { self.limit = limit }

        /// Keeps `change`, which leaves the entry at `key` as `effect`; its index in the order kept.
        mutating func add(_ change: PlannedChange, leaving key: String, as effect: @autoclosure () -> Entry?) throws(PlanError) -> Int {
            count += 1
            if let spill {
                try Self.write(change, to: spill)
                return count - 1
            }
            held.append(change)
            effects[key] = .some(effect())
            bytes += Self.size(change.record)
            if let limit, bytes > limit {
                let spill: PlanSpill
                do {
                    spill = try PlanSpill()
                } catch {
                    throw Self.unwritable(error)
                }
                for change in held { try Self.write(change, to: spill) }
                held = []
                effects = [:]
                self.spill = spill
            }
            return count - 1
        }

        /// The entries the plan leaves, the ones at `deleted` gone too; none once spilled.
        func effects(deleting deleted: [String]) -> [String: Entry?] {
            guard spill == nil else { return [:] }
            var result = effects
            for key in deleted { result[key] = .some(nil) }
            return result
        }

        /// The operations in the order of `indexes` (each index once).
        func ordered(_ indexes: [Int]) -> PlannedChanges {
            guard let spill else { return PlannedChanges(indexes.map { held[$0] }) }
            spill.order(indexes)
            return PlannedChanges(spill: spill, held: [])
        }

        private static func write(_ change: PlannedChange, to spill: PlanSpill) throws(PlanError) {
            do {
                _ = try spill.append(change)
            } catch {
                throw unwritable(error)
            }
        }

        /// A temporary file that cannot be made or written (a full disk) is no fault of the message:
        /// the run stops, as when the directory cannot be read, and the message waits in the drop.
        private static func unwritable(_ error: some Error) -> PlanError {
            .directory(
                LDAPError(
                    code: .localError, diagnosticMessage: "the plan is too large to hold and cannot be kept in a temporary file: \(error)",
                    operation: "keep a plan in TMPDIR"))
        }

        /// The bytes of the values a record writes.
        static func size(_ record: ChangeRecord) -> Int {
            switch record.change {
            case .add(let attributes): attributes.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } }
            case .modify(let modifications): modifications.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } }
            default: 0
            }
        }
    }

    func planFull(_ batches: RecordBatches) async throws(PlanError) -> MessagePlan {
        let checking: RecordBatches.Check = { [self] records, first throws(PlanError) in try checked(records, first: first) }
        batches.prefetch(Self.fullBatch, checking)  // (read while the owned entries are)
        var owned = try await ownedEntries()
        var listed: Set<String> = []
        var store = ChangeStore(limit: spillAbove)
        var changes: [(depth: Int, number: Int, index: Int)] = []
        var unchanged = 0
        // Each entry the records refer to, once (with the first record that does).
        var targets: [String: (number: Int, reference: ResolvedReference)] = [:]
        var first = 1
        var keys = DigestKeys()
        while true {
            let batch = try await batches.next(Self.fullBatch, checking)
            if batch.isEmpty { break }
            let translation = try await translate(batch, first: first)
            let (records, references) = (translation.records, translation.references)
            var owners: [String: String?] = [:]
            var pending: [(index: Int, desired: [Attribute])] = []
            for (index, record) in records.enumerated() {
                for reference in translation.targets[index] where targets[reference.target.normalized] == nil {
                    targets[reference.target.normalized] = (first + index, reference)
                }
                guard case .add(let attributes) = record.change else { continue }  // (a full message holds content records)
                let key = record.dn.normalized
                if listed.insert(key).inserted, let digest = owned.digests[key] ?? nil, digest == agentDigest(attributes, &keys) {
                    unchanged += 1
                    owners[key] = .some(source)
                } else {
                    pending.append((index, withAgentAttributes(attributes)))
                }
            }
            // The entries the other records name, as they are now (or as this run left them).
            let live: [String: Entry?]
            do {
                live = try await view.load(pending.map { records[$0.index].dn })
            } catch {
                throw .directory(error)
            }
            for (key, entry) in live { owners[key] = entry.map { .some(Self.owner(of: $0)) } ?? nil }
            // Where the records write and whose entries (what they write was judged in `translate`).
            let violations = policy.check(records, owners: owners, schema: schema, judging: .placement, first: first)
            if !violations.isEmpty { throw .refused(Self.summary(violations)) }
            for (index, desired) in pending {
                let record = records[index]
                let number = first + index
                let key = record.dn.normalized
                if let existing = live[key] ?? nil {
                    guard let change = difference(existing, desired, number, references[index]) else {
                        unchanged += 1
                        continue
                    }
                    changes.append((record.dn.rdns.count, number, try store.add(change, leaving: key, as: applying(change.record, to: existing))))
                } else {
                    let entry = Entry(dn: record.dn, attributes: desired)
                    let values = entry.mergedAttributes.map { ValueChange(attribute: $0.description.description, added: $0.values, removed: []) }
                    let change = PlannedChange(record: .add(entry), sourceRecord: number, values: values, references: references[index])
                    changes.append((record.dn.rdns.count, number, try store.add(change, leaving: key, as: entry)))
                }
            }
            first += batch.count
        }
        // What the source owns and the message no longer lists: deleted, children first.
        for key in listed { owned.digests.removeValue(forKey: key) }
        var gone: [Entry] = []
        if !owned.digests.isEmpty {
            let dns = try await ownedDNs(owned)
            let loaded: [String: Entry?]
            do {
                loaded = try await view.load(dns)
            } catch {
                throw .directory(error)
            }
            gone = loaded.values.compactMap { $0 }.filter { Self.owner(of: $0) == source }
            gone.sort { ($0.dn.rdns.count, $0.dn.normalized) > ($1.dn.rdns.count, $1.dn.normalized) }
        }
        // Every reference names an entry the message lists, or one that exists and that this plan
        // does not delete.
        let unlisted = targets.filter { !listed.contains($0.key) }.values.sorted { $0.number < $1.number }
        try await checkExist(unlisted, deleted: Set(gone.map(\.dn.normalized)))
        let deletes = gone.map { ChangeRecord(dn: $0.dn, change: .delete) }
        try check(deletes, Dictionary(uniqueKeysWithValues: gone.map { ($0.dn.normalized, Entry?.some($0)) }))

        var plan = MessagePlan(changes: [], unchanged: unchanged)
        // Parents before children.
        changes.sort { ($0.depth, $0.number) < ($1.depth, $1.number) }
        plan.changes = store.ordered(changes.map(\.index))
        for entry in gone {
            plan.changes.append(
                PlannedChange(
                    record: ChangeRecord(dn: entry.dn, change: .delete), sourceRecord: 0,
                    values: entry.mergedAttributes.map { ValueChange(attribute: $0.description.description, added: [], removed: $0.values) },
                    references: []))
        }
        plan.effects = store.effects(deleting: gone.map(\.dn.normalized))
        return plan
    }

    /// What the source owns now, by normalised DN: a paged search per subtree, each entry kept as its
    /// content's digest; then what this run's earlier messages left (compared with the entries).
    func ownedEntries() async throws(PlanError) -> Owned {
        var owned = Owned()
        var keys = DigestKeys()
        try await forEachOwned(attributes: ["*"]) { entry in owned.digests[entry.dn.normalized] = .some(contentDigest(entry.attributes, &keys)) }
        for (key, entry) in view.knownEntries() {
            guard let dn = entry?.dn ?? DN(key), policy.subtrees.contains(where: { dn.isWithin($0) }) else { continue }
            if Self.owner(of: entry) == source {
                owned.digests[key] = .some(nil)
                owned.known[key] = dn
            } else {
                owned.digests.removeValue(forKey: key)
                owned.known.removeValue(forKey: key)
            }
        }
        return owned
    }

    /// The DNs of the owned entries left in `owned.digests` (those the message does not list): the
    /// run's own, and the others found again by a search for their names alone.
    func ownedDNs(_ owned: Owned) async throws(PlanError) -> [DN] {
        var dns = owned.digests.keys.compactMap { owned.known[$0] }
        guard dns.count < owned.digests.count else { return dns }
        try await forEachOwned(attributes: ["1.1"]) { entry in
            let key = entry.dn.normalized
            if owned.digests[key] != nil, owned.known[key] == nil { dns.append(entry.dn) }
        }
        return dns
    }

    /// Every entry the source owns in the directory, a page at a time.
    func forEachOwned(attributes: [String], _ body: (Entry) -> Void) async throws(PlanError) {
        for subtree in policy.subtrees {
            do {
                try await view.directory.forEachEntry(under: subtree, matching: .equality(Self.owner, source), attributes: attributes) { page in
                    for entry in page { body(entry) }
                }
            } catch  where error.code == .noSuchObject {
                continue  // a subtree that does not exist yet holds nothing
            } catch {
                throw .directory(error)
            }
        }
    }
}
