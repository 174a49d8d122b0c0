import Foundation
import LDAPClient
import LDAPModel
import LDIF

/// Full messages: the subtrees the source owns become exactly what the message lists.
extension Planner {
    func planFull(_ records: [ChangeRecord], _ references: [[ResolvedReference]]) async throws(PlanError) -> MessagePlan {
        // What the source owns now: a search per subtree, then what this run already changed.
        var owned: [String: Entry] = [:]
        for subtree in policy.subtrees {
            let found: Result<[Entry], LDAPError>
            do {
                found = .success(try await view.directory.entries(under: subtree, matching: .equality(Self.owner, source), attributes: ["*"]))
            } catch {
                found = .failure(error)
            }
            switch found {
            case .success(let entries):
                for entry in entries { owned[entry.dn.normalized] = entry }
                view.remember(entries)
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
