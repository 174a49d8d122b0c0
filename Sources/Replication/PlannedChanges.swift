import Foundation
import LDAPModel
import LDIF
import MIME

/// The operations of a plan, in the order they are sent: held, or, for a plan too large to hold
/// (a full message of hundreds of megabytes into an empty subtree), written to a temporary file as
/// the planner makes them and read back when asked for, so that a run's memory does not grow with
/// the message. The file is removed as soon as it is made; nothing is left behind.
public struct PlannedChanges: RandomAccessCollection, Sendable, ExpressibleByArrayLiteral {
    /// The spilled operations come first, in their order; the held ones after them.
    private var spill: PlanSpill?
    private var held: [PlannedChange]

    public init(_ changes: [PlannedChange] = []) { held = changes }
    public init(arrayLiteral elements: PlannedChange...) { held = elements }

    init(spill: PlanSpill?, held: [PlannedChange]) {
        self.spill = spill
        self.held = held
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { (spill?.count ?? 0) + held.count }

    /// Whether the operations are in a file (the plan was too large to hold).
    public var isSpilled: Bool { spill != nil }

    /// One operation. (Reading one back from the spill file can fail only if the disk fails: the
    /// run stops there, and the next run plans the message again.)
    public subscript(position: Int) -> PlannedChange {
        do {
            return try changes(in: position..<position + 1)[0]
        } catch {
            fatalError("the plan's temporary file cannot be read back: \(error)")
        }
    }

    /// The operations in `range`, read back in one go; throws when the spill file cannot be read.
    public func changes(in range: Range<Int>) throws -> [PlannedChange] {
        let spilled = spill?.count ?? 0
        var result: [PlannedChange] = []
        result.reserveCapacity(range.count)
        for position in range {
            if position < spilled, let spill {
                result.append(try spill.change(at: position))
            } else {
                result.append(held[position - spilled])
            }
        }
        return result
    }

    mutating func append(_ change: PlannedChange) { held.append(change) }

    /// How many of the operations are deletes (a spill counts its own: nothing is read back).
    public var deletes: Int { (spill?.deletes ?? 0) + held.count { if case .delete = $0.record.change { true } else { false } } }
}

/// Operations written to an unlinked temporary file, each as two LDIF records (the request, then
/// the values it adds and removes as a modify record of replace and delete pairs); their places,
/// record numbers and references are kept in memory.
final class PlanSpill: @unchecked Sendable {
    private let file: MessageFile
    private struct Place {
        var range: Range<Int>
        var sourceRecord: Int
        var references: [ResolvedReference]
    }
    /// In the order written until `order` is called, then in the plan's order. (Written by the
    /// planner's task alone; read only once the plan is made.)
    private var places: [Place] = []
    private(set) var deletes = 0

    init(in directory: String = FileManager.default.temporaryDirectory.path) throws(MIMEError) {
        file = try MessageFile(spooling: [], in: directory)
    }

    var count: Int { places.count }

    private static let writer = LDIFWriter(foldWidth: 0)
    private static let options = LDIFReader.Options(
        limits: LDIFLimits(maxLineLength: .max, maxRecordSize: .max, maxLinesPerRecord: .max, maxURLValueSize: 0))

    /// Writes `change`; its index in the order written.
    func append(_ change: PlannedChange) throws(MIMEError) -> Int {
        // Each value change as a pair: what it adds as a replace, what it removes as a delete (both
        // may list no values; an add may not).
        var values: [Modification] = []
        for value in change.values {
            let attribute = AttributeDescription(value.attribute) ?? AttributeDescription(type: value.attribute)
            values.append(Modification(.replace, attribute, values: value.added))
            values.append(Modification(.delete, attribute, values: value.removed))
        }
        let bytes = Self.writer.render(change.record) + Self.writer.render(ChangeRecord(dn: change.record.dn, change: .modify(values)))
        places.append(Place(range: try file.append(bytes), sourceRecord: change.sourceRecord, references: change.references))
        if case .delete = change.record.change { deletes += 1 }
        return places.count - 1
    }

    /// Puts the operations in the plan's order: `indexes` lists every index once.
    func order(_ indexes: [Int]) { places = indexes.map { places[$0] } }

    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    func change(at position: Int) throws -> PlannedChange {
        let place = places[position]
        let records = try LDIFReader.records(in: try file.read(place.range), options: Self.options)
        guard records.count == 2, case .change(let record) = records[0], case .change(let written) = records[1],
            case .modify(let modifications) = written.change, modifications.count % 2 == 0,
            stride(from: 0, to: modifications.count, by: 2).allSatisfy({
                modifications[$0].operation == .replace && modifications[$0 + 1].operation == .delete
            })
        else { throw Unreadable(description: "operation \(position + 1) does not read back") }
        var values: [ValueChange] = []
        for pair in stride(from: 0, to: modifications.count, by: 2) {
            values.append(
                ValueChange(
                    attribute: modifications[pair].attribute.description, added: modifications[pair].values, removed: modifications[pair + 1].values
                ))
        }
        return PlannedChange(record: record, sourceRecord: place.sourceRecord, values: values, references: place.references)
    }
}
