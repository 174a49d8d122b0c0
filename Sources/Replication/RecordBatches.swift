import LDIF
import MessageFormat

/// A message's records, handed to the planner a batch at a time: from memory, or read from a large
/// message's file as the planner asks for them, so that a full message of any size is planned
/// without being held whole. From a file, the next batch is read (and parsed) on another thread
/// while the planner works on the one it has.
public final class RecordBatches: @unchecked Sendable {
    private let pull: () throws -> LDIFRecord?
    private let readsAhead: Bool
    /// The batch being read ahead. (Only the planner's task calls `next` and
    /// `prefetch`, one call at a time; a read ahead is awaited before another starts, so the reader
    /// is never used by two threads at once.)
    private var ahead: Task<Result<[LDIFRecord], PlanError>, Never>?

    public init(_ records: [LDIFRecord]) {
        var iterator = records.makeIterator()
        pull = { iterator.next() }
        readsAhead = false
    }

    /// The records of a message verified from its file, read again (and the file checked to be
    /// unchanged after the last).
    public init(_ streamed: StreamedMessage) {
        let reader = streamed.records()
        pull = { try reader.next() }
        readsAhead = true
    }

    /// Starts reading the first batch of `count`, for a caller that has other work first.
    func prefetch(_ count: Int) {
        guard readsAhead, ahead == nil else { return }
        ahead = Task.detached { [self] in Result { () throws(PlanError) in try read(count) } }
    }

    /// Up to `count` records; none after the last. What cannot be read (a file changed since it was
    /// verified) refuses the message.
    func next(_ count: Int) async throws(PlanError) -> [LDIFRecord] {
        let batch: [LDIFRecord]
        if let ahead {
            // (A batch read ahead has the size asked for then: the planner always asks for one size.)
            self.ahead = nil
            batch = try await ahead.value.get()
        } else {
            batch = try read(count)
        }
        if !batch.isEmpty { prefetch(count) }
        return batch
    }

    private func read(_ count: Int) throws(PlanError) -> [LDIFRecord] {
        var batch: [LDIFRecord] = []
        batch.reserveCapacity(min(count, 4096))
        do {
            while batch.count < count, let record = try pull() { batch.append(record) }
        } catch {
            throw .refused("\(error)")
        }
        return batch
    }
}
