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

    /// An owned entry as the plan keeps it: its DN, and its content's digest (nil: compare it with
    /// the entry, as this run's earlier messages left it).
    struct OwnedEntry {
        var dn: String
        var digest: ContentDigest?
    }

    /// 128 bits over an entry's attributes in a canonical order: each attribute (merged, by the
    /// matcher's key) with its values sorted by their bytes.
    struct ContentDigest: Hashable {
        var high: Int
        var low: Int
    }

    func contentDigest(_ attributes: [Attribute]) -> ContentDigest {
        var parts = Entry(dn: .root, attributes: attributes).mergedAttributes.map { attribute in
            (key: matcher.key(attribute.description), values: attribute.values.sorted { $0.lexicographicallyPrecedes($1) })
        }
        parts.sort { $0.key < $1.key }
        func digest(_ seed: UInt8) -> Int {
            var hasher = Hasher()
            hasher.combine(seed)
            hasher.combine(parts.count)
            for part in parts {
                hasher.combine(part.key)
                hasher.combine(part.values.count)
                for value in part.values {
                    hasher.combine(value.count)
                    value.withUnsafeBytes { hasher.combine(bytes: $0) }
                }
            }
            return hasher.finalize()
        }
        return ContentDigest(high: digest(1), low: digest(2))
    }

    func planFull(_ batches: RecordBatches) async throws(PlanError) -> MessagePlan {
        var owned = try await ownedEntries()
        var listed: Set<String> = []
        var changes: [(depth: Int, number: Int, change: PlannedChange)] = []
        var changed: [String: Entry?] = [:]
        var unchanged = 0
        var targets: [(number: Int, reference: ResolvedReference)] = []
        var first = 1
        while true {
            let batch = try batches.next(Self.fullBatch)
            if batch.isEmpty { break }
            let (records, references) = try await translate(batch, first: first)
            var owners: [String: String?] = [:]
            var pending: [(index: Int, desired: [Attribute])] = []
            for (index, record) in records.enumerated() {
                targets += references[index].map { (first + index, $0) }
                guard case .add(let attributes) = record.change else { continue }  // (a full message holds content records)
                let key = record.dn.normalized
                let desired = withAgentAttributes(attributes)
                if listed.insert(key).inserted, let digest = owned[key]?.digest, digest == contentDigest(desired) {
                    unchanged += 1
                    owners[key] = .some(source)
                } else {
                    pending.append((index, desired))
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
            let violations = policy.check(records, owners: owners, schema: schema, content: false, first: first)
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
                    changes.append((record.dn.rdns.count, number, change))
                    changed[key] = .some(applying(change.record, to: existing))
                } else {
                    let entry = Entry(dn: record.dn, attributes: desired)
                    let values = entry.mergedAttributes.map { ValueChange(attribute: $0.description.description, added: $0.values, removed: []) }
                    changes.append(
                        (
                            record.dn.rdns.count, number,
                            PlannedChange(record: .add(entry), sourceRecord: number, values: values, references: references[index])
                        ))
                    changed[key] = .some(entry)
                }
            }
            first += batch.count
        }
        // Every reference names an entry the message lists, or one that exists.
        try await checkExist(targets.filter { !listed.contains($0.reference.target.normalized) })

        // What the source owns and the message no longer lists: deleted, children first.
        for key in listed { owned.removeValue(forKey: key) }
        var gone: [Entry] = []
        if !owned.isEmpty {
            let loaded: [String: Entry?]
            do {
                loaded = try await view.load(owned.values.compactMap { DN($0.dn) })
            } catch {
                throw .directory(error)
            }
            gone = loaded.values.compactMap { $0 }.filter { Self.owner(of: $0) == source }
            gone.sort { ($0.dn.rdns.count, $0.dn.normalized) > ($1.dn.rdns.count, $1.dn.normalized) }
        }
        let deletes = gone.map { ChangeRecord(dn: $0.dn, change: .delete) }
        try check(deletes, Dictionary(uniqueKeysWithValues: gone.map { ($0.dn.normalized, Entry?.some($0)) }))

        var plan = MessagePlan(changes: [], unchanged: unchanged)
        // Parents before children.
        changes.sort { ($0.depth, $0.number) < ($1.depth, $1.number) }
        plan.changes = changes.map(\.change)
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

    /// What the source owns now, by normalised DN: a paged search per subtree, each entry kept as its
    /// content's digest; then what this run's earlier messages left (compared with the entries).
    func ownedEntries() async throws(PlanError) -> [String: OwnedEntry] {
        var owned: [String: OwnedEntry] = [:]
        for subtree in policy.subtrees {
            do {
                try await view.directory.forEachEntry(under: subtree, matching: .equality(Self.owner, source), attributes: ["*"]) { page in
                    for entry in page { owned[entry.dn.normalized] = OwnedEntry(dn: entry.dn.description, digest: contentDigest(entry.attributes)) }
                }
            } catch  where error.code == .noSuchObject {
                continue  // a subtree that does not exist yet holds nothing
            } catch {
                throw .directory(error)
            }
        }
        for (key, entry) in view.knownEntries() {
            guard let dn = entry?.dn ?? DN(key), policy.subtrees.contains(where: { dn.isWithin($0) }) else { continue }
            owned[key] = Self.owner(of: entry) == source ? OwnedEntry(dn: dn.description, digest: nil) : nil
        }
        return owned
    }
}
