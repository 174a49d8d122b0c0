import Foundation
import LDAPClient
import LDAPModel
import LDIF

/// Delta messages: each record planned against the entry as the records before it left it, reduced
/// to what changes it; a replay of records an interrupted run already applied is recognised.
extension Planner {
    func planDelta(_ records: [ChangeRecord], _ references: [[ResolvedReference]]) async throws(PlanError) -> MessagePlan {
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
}
