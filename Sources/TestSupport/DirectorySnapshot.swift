import LDAPModel
import LDIF

/// A directory's content as comparable values: entries by normalised DN, attributes by normalised
/// description, values sorted. Two servers that hold the same data give equal snapshots whatever the
/// order or the DN spelling they return.
public struct DirectorySnapshot: Equatable, Sendable {
    public var entries: [String: [String: [[UInt8]]]]

    public init(entries: [Entry]) {
        var result: [String: [String: [[UInt8]]]] = [:]
        for entry in entries {
            var attributes: [String: [[UInt8]]] = [:]
            for attribute in entry.attributes {
                attributes[attribute.description.normalized, default: []] += attribute.values
            }
            for key in attributes.keys { attributes[key]?.sort { $0.lexicographicallyPrecedes($1) } }
            result[entry.dn.normalized] = attributes
        }
        self.entries = result
    }

    /// From `ldapsearch -LLL` output.
    public init(ldif: String) throws {
        let records = try LDIFReader.records(in: Array(ldif.utf8), options: .init(allowUTF8Values: true))
        self.init(
            entries: records.compactMap { record in
                if case .content(let entry) = record { return entry }
                return nil
            })
    }

    /// A readable account of what differs, for a failing expectation.
    public func differences(from other: DirectorySnapshot, limit: Int = 10) -> String {
        var lines: [String] = []
        for dn in Set(entries.keys).union(other.entries.keys).sorted() {
            guard let mine = entries[dn] else { lines.append("only in the other: \(dn)"); continue }
            guard let theirs = other.entries[dn] else { lines.append("only in this: \(dn)"); continue }
            for attribute in Set(mine.keys).union(theirs.keys).sorted() where mine[attribute] != theirs[attribute] {
                let show = { (values: [[UInt8]]?) in (values ?? []).map { String(decoding: $0, as: UTF8.self) }.description }
                lines.append("\(dn) \(attribute): \(show(mine[attribute])) vs \(show(theirs[attribute]))")
            }
        }
        return lines.prefix(limit).joined(separator: "\n")
    }
}
