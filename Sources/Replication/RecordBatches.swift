import LDAPModel
import LDIF
import MessageFormat

/// A message's records, handed to the planner a batch at a time: from memory, or read from a large
/// message's file as the planner asks for them, so that a full message of any size is planned
/// without being held whole. From a file, the next batch is read, parsed and checked on another
/// thread while the planner works on the one it has.
public final class RecordBatches: @unchecked Sendable {
    /// What is done to a batch as it is read (on the reading thread when reading ahead): its records
    /// and the number of the first become change records, or the message is refused
    /// (`Planner.checked`).
    typealias Check = @Sendable (_ records: [LDIFRecord], _ first: Int) throws(PlanError) -> [ChangeRecord]

    private let pull: () throws -> LDIFRecord?
    private let readsAhead: Bool
    /// The batch being read ahead. (Only the planner's task calls `next` and `prefetch`, one call
    /// at a time; a read ahead is awaited before another starts, so the reader is never used by
    /// two threads at once.)
    private var ahead: Task<Result<[ChangeRecord], PlanError>, Never>?
    /// Records read so far (the batch read ahead counted once it is handed over).
    private var handed = 0

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
    func prefetch(_ count: Int, _ check: @escaping Check) {
        guard readsAhead, ahead == nil else { return }
        let first = handed + 1
        ahead = Task.detached { [self] in Result { () throws(PlanError) in try check(read(count), first) } }
    }

    /// Up to `count` records, checked; none after the last. What cannot be read (a file changed
    /// since it was verified) refuses the message, as a record that does not pass `check` does; a
    /// batch is read whole before it is checked, so the first fault in the message's order is the
    /// one reported.
    func next(_ count: Int, _ check: @escaping Check) async throws(PlanError) -> [ChangeRecord] {
        let batch: [ChangeRecord]
        if let ahead {
            // (A batch read ahead has the size asked for then: the planner always asks for one size.)
            self.ahead = nil
            batch = try await ahead.value.get()
        } else {
            batch = try check(read(count), handed + 1)
        }
        handed += batch.count
        if !batch.isEmpty { prefetch(count, check) }
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
