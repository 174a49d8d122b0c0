import Foundation
import LDAPClient
import LDAPModel
import LDIF

/// The effective change: what makes an entry hold what a record wants, and nothing that is so already.
extension Planner {
    /// objectClass gains the auxiliary class, and the entry records its owner.
    func withAgentAttributes(_ attributes: [Attribute]) -> [Attribute] {
        // (Run for every record of a full message: names compared in place, no String made.)
        var classes = Attribute(Self.objectClass, values: [])
        var others: [Attribute] = []
        others.reserveCapacity(attributes.count)
        for attribute in attributes {
            if attribute.description.hasType(Self.objectClass.type) {
                classes.values += attribute.values
            } else if !attribute.description.hasType(Self.ownerAttribute) {
                others.append(attribute)
            }
        }
        if !classes.values.contains(where: Self.isReplicatedClass) {
            classes.values += Self.replicatedClassValues
        }
        var result = [classes]
        result.reserveCapacity(others.count + 2)
        // The same value twice (one member named by two addresses, say) would make the server refuse the add.
        for attribute in Entry(dn: .root, attributes: others).mergedAttributes {
            result.append(Attribute(attribute.description, values: matcher.unique(attribute.description.type, attribute.values)))
        }
        result.append(Attribute(Self.owner, values: ownerValues))
        return result
    }

    static let objectClass = AttributeDescription(type: "objectClass")

    /// An objectClass value naming the class that marks an entry as replicated (in any case).
    static func isReplicatedClass(_ value: [UInt8]) -> Bool {
        AttributeDescription.sameName(String(decoding: value, as: UTF8.self), replicatedClass)
    }

    /// The modifications that change `entry`, each reduced to what is not already so.
    func effectiveModifications(
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
    func difference(_ existing: Entry, _ desired: [Attribute], _ number: Int, _ references: [ResolvedReference]) -> PlannedChange? {
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
    func applying(_ record: ChangeRecord, to entry: Entry) -> Entry {
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
}
