import LDIF
import MessageFormat

/// A message's records, handed to the planner a batch at a time: from memory, or read from a large
/// message's file as the planner asks for them, so that a full message of any size is planned
/// without being held whole.
public final class RecordBatches: @unchecked Sendable {
    private let pull: () throws -> LDIFRecord?

    public init(_ records: [LDIFRecord]) {
        var iterator = records.makeIterator()
        pull = { iterator.next() }
    }

    /// The records of a message verified from its file, read again (and the file checked to be
    /// unchanged after the last).
    public init(_ streamed: StreamedMessage) {
        let reader = streamed.records()
        pull = { try reader.next() }
    }

    /// Up to `count` records; none after the last. What cannot be read (a file changed since it was
    /// verified) refuses the message.
    func next(_ count: Int) throws(PlanError) -> [LDIFRecord] {
        var batch: [LDIFRecord] = []
        do {
            while batch.count < count, let record = try pull() { batch.append(record) }
        } catch {
            throw .refused("\(error)")
        }
        return batch
    }
}
