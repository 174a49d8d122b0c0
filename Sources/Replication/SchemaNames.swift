import Coding
import LDAPModel

/// Attribute types and object classes as the server's schema names them. A record may write
/// `2.5.4.35`, `userPassword` or `USERPASSWORD;binary`, an object class as `alias` or `2.5.6.1`:
/// policy must judge the type, never the spelling, so every name in a message is turned into the
/// schema's own (its first NAME, or its OID when it has none) before any check, and a name the
/// schema does not know is refused.
struct SchemaNames: Sendable {
    let schema: Subschema

    /// Why a name cannot be used.
    struct Unknown: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// The attribute type's name in the schema, with the description's options (lower-cased).
    func attribute(_ description: AttributeDescription) throws(Unknown) -> AttributeDescription {
        guard let type = schema.attributeType(description.type) else {
            throw Unknown(description: "attribute '\(Self.shown(description.description))' is not in the server's schema")
        }
        return AttributeDescription(type: type.names.first ?? type.oid, options: description.options.map { $0.lowercased() })
    }

    /// The object class's name in the schema.
    func objectClass(_ value: [UInt8]) throws(Unknown) -> [UInt8] {
        let text = String(decoding: value, as: UTF8.self)
        // (Most values are plain ASCII without spaces around: nothing to trim, and trimming costs.)
        let plain = value.allSatisfy { $0 < 0x80 } && value.first != 0x20 && value.last != 0x20 && value.first != 0x09 && value.last != 0x09
        let name = plain ? text : text.trimmingCharacters(in: .whitespaces)
        guard let definition = schema.objectClass(name) else {
            throw Unknown(description: "object class '\(Self.shown(name))' is not in the server's schema")
        }
        let canonical = definition.names.first ?? definition.oid
        return value.elementsEqual(canonical.utf8) ? value : Array(canonical.utf8)
    }

    /// A DN whose attribute types are the schema's names.
    func dn(_ dn: DN) throws(Unknown) -> DN {
        // Most DNs already use the schema's names: kept as they are, nothing rebuilt.
        var unchanged = true
        for rdn in dn.rdns {
            for ava in rdn.attributes where try attribute(AttributeDescription(type: ava.type)).type != ava.type { unchanged = false }
        }
        if unchanged { return dn }
        var rdns: [RDN] = []
        for rdn in dn.rdns {
            var attributes: [AttributeTypeAndValue] = []
            for ava in rdn.attributes {
                attributes.append(AttributeTypeAndValue(type: try attribute(AttributeDescription(type: ava.type)).type, value: ava.value))
            }
            rdns.append(RDN(attributes: attributes))
        }
        return DN(rdns: rdns)
    }

    /// The type and the types above it (SUP), lower-cased schema names, nearest first.
    func lineage(ofAttribute name: String) -> [String] {
        var result: [String] = []
        var current = schema.attributeType(name)
        while let type = current, !result.contains((type.names.first ?? type.oid).lowercased()) {
            result.append((type.names.first ?? type.oid).lowercased())
            current = type.superior.flatMap { schema.attributeType($0) }
        }
        return result.isEmpty ? [name.lowercased()] : result
    }

    /// The class and the classes above it, lower-cased schema names, nearest first.
    func lineage(ofClass name: String) -> [String] {
        var result: [String] = []
        var pending = [name]
        while let next = pending.popLast() {
            guard let definition = schema.objectClass(next) else {
                if result.isEmpty { result.append(next.lowercased()) }
                continue
            }
            let canonical = (definition.names.first ?? definition.oid).lowercased()
            guard !result.contains(canonical) else { continue }
            result.append(canonical)
            pending += definition.superiors
        }
        return result
    }

    /// A name from a message, made safe to show: at most 100 characters, control characters escaped.
    static func shown(_ text: String) -> String {
        Text.printable(String(text.prefix(100)))
    }

    /// Every record with the schema's names (attribute descriptions, object class values, DN types).
    func canonical(_ record: ChangeRecord) throws(Unknown) -> ChangeRecord {
        let dn = try self.dn(record.dn)
        switch record.change {
        case .add(let attributes):
            var result: [Attribute] = []
            for attribute in attributes { result.append(try canonical(attribute.description, attribute.values)) }
            return ChangeRecord(dn: dn, change: .add(result), controls: record.controls)
        case .modify(let modifications):
            var result: [Modification] = []
            for modification in modifications {
                let attribute = try canonical(modification.attribute, modification.values)
                result.append(Modification(modification.operation, attribute.description, values: attribute.values))
            }
            return ChangeRecord(dn: dn, change: .modify(result), controls: record.controls)
        case .delete:
            return ChangeRecord(dn: dn, change: .delete, controls: record.controls)
        case .modifyDN(let newRDN, let deleteOldRDN, let newSuperior):
            guard let rdn = try self.dn(DN(rdns: [newRDN])).rdn else { return record }
            return ChangeRecord(
                dn: dn,
                change: .modifyDN(
                    newRDN: rdn, deleteOldRDN: deleteOldRDN, newSuperior: try newSuperior.map { dn throws(Unknown) in try self.dn(dn) }),
                controls: record.controls)
        }
    }

    private func canonical(_ description: AttributeDescription, _ values: [[UInt8]]) throws(Unknown) -> Attribute {
        let name = try attribute(description)
        guard name.type.asciiLowercased == "objectclass" else { return Attribute(name, values: values) }
        var classes: [[UInt8]] = []
        for value in values { classes.append(try objectClass(value)) }
        return Attribute(name, values: classes)
    }
}
