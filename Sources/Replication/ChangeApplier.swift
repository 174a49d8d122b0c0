import LDAPClient
import LDAPModel
import LDIF
import Logging

/// Applies a stream of LDIF records to a directory: in RFC 5805 transactions of up to `batchSize`
/// operations when the server offers them (one disk sync per batch), otherwise one operation at a time.
public struct ChangeApplier: Sendable {
    public struct Options: Sendable, Hashable {
        /// Records per transaction.
        public var batchSize: Int
        /// nil: use transactions when the root DSE offers them.
        public var useTransactions: Bool?
        /// Keep going after a refused record (without transactions only; like `ldapmodify -c`).
        public var continueOnError: Bool

        public init(batchSize: Int = 50, useTransactions: Bool? = nil, continueOnError: Bool = false) {
            self.batchSize = batchSize
            self.useTransactions = useTransactions
            self.continueOnError = continueOnError
        }
    }

    /// A record the server refused: its position in the input and the server's answer.
    public struct Failure: Sendable, CustomStringConvertible {
        public var record: Int
        public var line: Int
        public var error: LDAPError
        public var description: String { "record \(record) (line \(line)): \(error)" }
    }

    public struct Summary: Sendable {
        public var read = 0
        public var applied = 0
        public var transactions = 0
        public var failures: [Failure] = []
    }

    public let connection: LDAPConnection
    public let options: Options
    let logger: Logger

    public init(connection: LDAPConnection, options: Options = Options(), logger: Logger = Logger(label: "bridgehead.apply")) {
        self.connection = connection
        self.options = options
        self.logger = logger
    }

    /// Applies every record `reader` yields; content records are added as entries. Records are read a
    /// batch at a time and written by `DirectoryWriter`'s rule (transactions of up to `batchSize`
    /// records, deletes and renames alone). LDIF errors are thrown as `LDIFError` before anything of
    /// the failing batch is sent.
    public func apply(_ reader: LDIFReader) async throws -> Summary {
        let transactions: Bool
        if let forced = options.useTransactions {
            transactions = forced
        } else {
            transactions = try await connection.transactionSupport().isDefault
        }
        let writer = DirectoryWriter(
            connection: connection, transactions: transactions, batchSize: options.batchSize,
            alone: .asWritten(continueOnError: options.continueOnError && !transactions))
        var summary = Summary()
        var batch: [Item] = []
        while true {
            let next = try reader.next()
            if let next {
                summary.read += 1
                let record: ChangeRecord
                switch next {
                case .content(let entry): record = .add(entry)
                case .change(let change): record = change
                }
                batch.append(Item(record: record, number: summary.read, line: reader.recordLine))
                if batch.count < max(options.batchSize, 1) { continue }
            }
            guard try await write(batch, writer, &summary) else { break }
            batch.removeAll(keepingCapacity: true)
            if next == nil { break }
        }
        return summary
    }

    struct Item: Sendable {
        var record: ChangeRecord
        var number: Int
        var line: Int
    }

    /// Writes one batch step by step; false when a record was refused and the run must stop.
    private func write(_ batch: [Item], _ writer: DirectoryWriter, _ summary: inout Summary) async throws -> Bool {
        let records = batch.map(\.record)
        for step in writer.steps(records) {
            let refusals = try await writer.apply(step, of: records)
            for refusal in refusals {
                let item = batch[refusal.index]
                var error = refusal.error
                if step.isTransaction {
                    error.operation +=
                        " in the transaction of records \(batch[step.range.lowerBound].number)–\(batch[step.range.upperBound - 1].number), rolled back"
                }
                summary.failures.append(Failure(record: item.number, line: item.line, error: error))
            }
            if step.isTransaction {
                guard refusals.isEmpty else { return false }
                summary.transactions += 1
                summary.applied += step.range.count
                logger.debug("committed", metadata: ["records": "\(step.range.count)"])
            } else {
                summary.applied += step.range.count - refusals.count
                if !refusals.isEmpty, !options.continueOnError { return false }
            }
        }
        return true
    }
}
