import Coding
import LDAPModel

/// One successful write as slapo-accesslog records it (an `auditWriteObject` entry under the log
/// database's suffix), read from the entry's attributes:
///
///     reqType: add | delete | modify | modrdn
///     reqDN: the entry's DN before the operation
///     reqMod: attr:+ value | attr:- value | attr:= value | attr:# value | attr:- | attr:= | :
///     reqNewRDN, reqDeleteOldRDN (TRUE/FALSE), reqNewSuperior (modrdn)
///     entryCSN: the log entry's change sequence number, the order the writes were committed in
///
/// `reqStart` is when an operation began, not when it committed: the order is `entryCSN`'s.
public struct AccessLogEntry: Sendable, Hashable {
    public enum Operation: Sendable, Hashable {
        case add([Attribute])
        case delete
        case modify([Modification])
        case modifyDN(newRDN: RDN, deleteOldRDN: Bool, newSuperior: DN?)
    }

    /// The log entry's entryCSN.
    public var csn: String
    /// The target's DN before the operation.
    public var dn: DN
    public var operation: Operation

    public init(csn: String, dn: DN, operation: Operation) {
        self.csn = csn
        self.dn = dn
        self.operation = operation
    }

    /// The attributes a capture asks the log for.
    public static let attributes = ["entryCSN", "reqType", "reqDN", "reqMod", "reqNewRDN", "reqDeleteOldRDN", "reqNewSuperior", "reqResult"]

    /// Reads a log entry; nil for one that is not a successful write (a failed one, a bind, a search).
    public init?(_ entry: Entry) throws(AccessLogError) {
        let where_ = entry.dn.description
        guard entry.strings("reqResult").first.map({ $0 == "0" }) ?? true else { return nil }
        guard let type = entry.strings("reqType").first?.lowercased(), ["add", "delete", "modify", "modrdn"].contains(type) else {
            return nil
        }
        guard let csn = entry.strings("entryCSN").first, !csn.isEmpty else { throw AccessLogError(entry: where_, reason: "it has no entryCSN") }
        guard let text = entry.strings("reqDN").first, let dn = DN(text) else {
            throw AccessLogError(entry: where_, reason: "reqDN is missing or not a DN")
        }
        let operation: Operation
        switch type {
        case "add":
            var attributes: [Attribute] = []
            for modification in try Self.modifications(entry.values("reqMod"), entry: where_) {
                guard modification.operation == .add else {
                    throw AccessLogError(
                        entry: where_, reason: "an add's reqMod has a \(modification.operation.rawValue) of \(modification.attribute)")
                }
                if let index = attributes.firstIndex(where: { $0.description == modification.attribute }) {
                    attributes[index].values += modification.values
                } else {
                    attributes.append(Attribute(modification.attribute, values: modification.values))
                }
            }
            operation = .add(attributes)
        case "delete":
            operation = .delete
        case "modify":
            operation = .modify(try Self.modifications(entry.values("reqMod"), entry: where_))
        default:
            guard let rdnText = entry.strings("reqNewRDN").first, let rdn = DN(rdnText)?.rdn, DN(rdnText)?.rdns.count == 1 else {
                throw AccessLogError(entry: where_, reason: "reqNewRDN is missing or not an RDN")
            }
            let deleteOld = entry.strings("reqDeleteOldRDN").first?.uppercased() == "TRUE"
            var superior: DN?
            if let text = entry.strings("reqNewSuperior").first {
                guard let parsed = DN(text) else { throw AccessLogError(entry: where_, reason: "reqNewSuperior is not a DN") }
                superior = parsed
            }
            operation = .modifyDN(newRDN: rdn, deleteOldRDN: deleteOld, newSuperior: superior)
        }
        self.init(csn: csn, dn: dn, operation: operation)
    }

    /// reqMod values, in order, to modifications. Each value is `attr:` and an operation character
    /// (`+` add, `-` delete, `=` replace, `#` increment), then a space and one value (raw bytes, binary
    /// included), or nothing for a delete or replace of every value. Consecutive values of the same
    /// attribute and operation belong to one modification; a value that is a lone `:` separates two
    /// modifications that would otherwise run together.
    public static func modifications(_ values: [[UInt8]], entry: String = "") throws(AccessLogError) -> [Modification] {
        var result: [Modification] = []
        var separated = true
        for value in values {
            if value == [UInt8(ascii: ":")] {
                separated = true
                continue
            }
            guard let colon = value.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon + 1 < value.count else {
                throw AccessLogError(
                    entry: entry, reason: "reqMod '\(Text.printable(String(decoding: value.prefix(60), as: UTF8.self)))' is not attr:OP value")
            }
            let name = String(decoding: value[..<colon], as: UTF8.self)
            guard let attribute = AttributeDescription(name) else {
                throw AccessLogError(entry: entry, reason: "reqMod names '\(Text.printable(String(name.prefix(60))))', not an attribute")
            }
            let operation: Modification.Operation
            switch value[colon + 1] {
            case UInt8(ascii: "+"): operation = .add
            case UInt8(ascii: "-"): operation = .delete
            case UInt8(ascii: "="): operation = .replace
            case UInt8(ascii: "#"): operation = .increment
            default:
                throw AccessLogError(
                    entry: entry, reason: "reqMod of \(name) has the unknown operation '\(Character(Unicode.Scalar(value[colon + 1])))'")
            }
            let rest = value[(colon + 2)...]
            var item: [UInt8]?
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: " ") else {
                    throw AccessLogError(entry: entry, reason: "reqMod of \(name): no space between the operation and the value")
                }
                item = Array(rest.dropFirst())
            }
            if !separated, let last = result.last, last.attribute == attribute, last.operation == operation, !last.values.isEmpty, let item {
                result[result.count - 1].values.append(item)
            } else {
                result.append(Modification(operation, attribute, values: item.map { [$0] } ?? []))
            }
            separated = item == nil
        }
        return result
    }
}

/// A log entry that is not what slapo-accesslog writes.
public struct AccessLogError: Error, Sendable, Hashable, CustomStringConvertible {
    public var entry: String
    public var reason: String

    public init(entry: String, reason: String) {
        self.entry = entry
        self.reason = reason
    }

    public var description: String { "accesslog entry \(entry): \(reason)" }
}
