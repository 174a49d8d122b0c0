import LDAPModel

/// What a site publishes: the entries under its `[publish] subtrees`, with their user attributes
/// only. Operational attributes (the schema's, e.g. entryUUID, modifyTimestamp, structuralObjectClass)
/// and the project's own (bridgehead*, and the `bridgeheadReplicated` class) are never published:
/// the receiver keeps its own.
public struct CaptureScope: Sendable {
    public var subtrees: [DN]
    public var schema: Subschema

    public init(subtrees: [DN], schema: Subschema) {
        self.subtrees = subtrees
        self.schema = schema
    }

    /// One step of turning the log into change records.
    public enum Step: Sendable, Hashable {
        /// A record ready to publish.
        case record(ChangeRecord)
        /// An entry moved into the published subtrees: publish an add of it, and of everything under
        /// it, as they are now at `DN` (the receiver never had them).
        case copyIn(DN)
        /// An entry moved out: publish deletes of it and of everything under it, at their old DNs under
        /// `from` (found now under `to`), deepest first.
        case removeOut(from: DN, to: DN)
    }

    public func contains(_ dn: DN) -> Bool { subtrees.contains { dn.isWithin($0) } }

    /// Whether an attribute's values are published.
    public func publishes(_ attribute: AttributeDescription) -> Bool {
        let name = attribute.type.lowercased()
        if name.hasPrefix("bridgehead") { return false }
        if let type = schema.attributeType(attribute.type) {
            let canonical = (type.names.first ?? type.oid).lowercased()
            if canonical.hasPrefix("bridgehead") { return false }
            return !schema.isOperational(attribute.type)
        }
        // A name the schema does not know is no user attribute slapd would have stored.
        return false
    }

    /// The attributes of an entry as published.
    public func published(_ attributes: [Attribute]) -> [Attribute] {
        attributes.compactMap { attribute in
            guard publishes(attribute.description) else { return nil }
            var copy = attribute
            if attribute.description.type.lowercased() == "objectclass" {
                copy.values.removeAll { String(decoding: $0, as: UTF8.self).lowercased() == BridgeheadSchema.replicated.lowercased() }
                if copy.values.isEmpty { return nil }
            }
            return copy
        }
    }

    /// An entry as published (nil when it lies outside the published subtrees).
    public func published(_ entry: Entry) -> Entry? {
        guard contains(entry.dn) else { return nil }
        return Entry(dn: entry.dn, attributes: published(entry.attributes))
    }

    /// What one log entry contributes (nothing for a write outside the published subtrees, or one
    /// that changed only attributes that are not published).
    public func steps(for log: AccessLogEntry) -> [Step] {
        switch log.operation {
        case .add(let attributes):
            guard contains(log.dn) else { return [] }
            return [.record(ChangeRecord(dn: log.dn, change: .add(published(attributes))))]
        case .delete:
            guard contains(log.dn) else { return [] }
            return [.record(ChangeRecord(dn: log.dn, change: .delete))]
        case .modify(let modifications):
            guard contains(log.dn) else { return [] }
            var kept: [Modification] = []
            for modification in modifications where publishes(modification.attribute) {
                var copy = modification
                if modification.attribute.type.lowercased() == "objectclass" {
                    copy.values.removeAll { String(decoding: $0, as: UTF8.self).lowercased() == BridgeheadSchema.replicated.lowercased() }
                    if copy.values.isEmpty, !modification.values.isEmpty { continue }
                }
                kept.append(copy)
            }
            return kept.isEmpty ? [] : [.record(ChangeRecord(dn: log.dn, change: .modify(kept)))]
        case .modifyDN(let rdn, let deleteOld, let superior):
            let newDN = (superior ?? log.dn.parent ?? .root).child(rdn)
            switch (contains(log.dn), contains(newDN)) {
            case (true, true):
                return [.record(ChangeRecord(dn: log.dn, change: .modifyDN(newRDN: rdn, deleteOldRDN: deleteOld, newSuperior: superior)))]
            case (true, false): return [.removeOut(from: log.dn, to: newDN)]
            case (false, true): return [.copyIn(newDN)]
            case (false, false): return []
            }
        }
    }
}
