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

    /// Applies every record `reader` yields; content records are added as entries.
    /// LDIF errors are thrown as `LDIFError` before anything of the failing batch is sent.
    public func apply(_ reader: LDIFReader) async throws -> Summary {
        let transactions: Bool
        if let forced = options.useTransactions { transactions = forced } else { transactions = try await connection.supportsTransactions() }
        var summary = Summary()
        var batch: [Item] = []
        while true {
            let next = try reader.next()
            var change: ChangeRecord?
            switch next {
            case .content(let entry): change = .add(entry)
            case .change(let record): change = record
            case nil: change = nil
            }
            // slapd 2.5 mishandles deletes and renames inside transactions (docs/slapd-transactions.md):
            // they go alone, outside any transaction, in their place in the sequence.
            let alone = transactions && change.map(\.isUnsafeInTransaction) == true
            if !batch.isEmpty, change == nil || alone {
                guard try await flush(&batch, &summary, transactions) else { break }
            }
            guard let change else { break }
            summary.read += 1
            let item = Item(record: change, number: summary.read, line: reader.recordLine)
            if alone {
                guard try await applyEach([item], &summary) else { break }
                continue
            }
            batch.append(item)
            if batch.count >= max(options.batchSize, 1) {
                guard try await flush(&batch, &summary, transactions) else { break }
            }
        }
        return summary
    }

    /// Applies and empties the batch; false when a record was refused and the run must stop.
    private func flush(_ batch: inout [Item], _ summary: inout Summary, _ transactions: Bool) async throws -> Bool {
        defer { batch.removeAll(keepingCapacity: true) }
        return transactions ? try await applyTransaction(batch, &summary) : try await applyEach(batch, &summary)
    }

    struct Item: Sendable {
        var record: ChangeRecord
        var number: Int
        var line: Int
    }

    private func applyTransaction(_ batch: [Item], _ summary: inout Summary) async throws -> Bool {
        let transaction = try await connection.beginTransaction()
        // One request at a time: slapd queues transaction operations in the order its worker threads
        // take them, which for pipelined requests is not always the order they were sent.
        let results = try await connection.pipeline(batch.map(\.record), controls: [transaction.control], window: 1)
        if let refused = results.firstIndex(where: { $0.code != .success }) {
            try await connection.abort(transaction)
            let item = batch[refused]
            summary.failures.append(Failure(record: item.number, line: item.line, error: results[refused].error(item.record.summary)))
            return false
        }
        let commitError: LDAPError?
        do {
            try await connection.commit(transaction)
            commitError = nil
        } catch {
            commitError = error
        }
        if let commitError {
            if commitError.isTransportFailure { throw commitError }
            // The server names the failing operation by its message id, when it can.
            let index = commitError.failedMessageID.flatMap { id in results.firstIndex { $0.messageID == id } }
            let item = batch[index ?? 0]
            let failure = LDAPError(
                code: commitError.code, diagnosticMessage: commitError.diagnosticMessage, matchedDN: commitError.matchedDN,
                operation: (index == nil ? "" : item.record.summary + " in ")
                    + "transaction of records \(batch[0].number)–\(batch[batch.count - 1].number), rolled back")
            summary.failures.append(Failure(record: item.number, line: item.line, error: failure))
            return false
        }
        summary.transactions += 1
        summary.applied += batch.count
        logger.debug("committed", metadata: ["records": "\(batch.count)"])
        return true
    }

    private func applyEach(_ batch: [Item], _ summary: inout Summary) async throws -> Bool {
        for item in batch {
            let result: Result<LDAPResult, LDAPError>
            do {
                result = .success(try await connection.apply(item.record))
            } catch {
                result = .failure(error)
            }
            switch result {
            case .success:
                summary.applied += 1
            case .failure(let error):
                if error.isTransportFailure { throw error }
                summary.failures.append(Failure(record: item.number, line: item.line, error: error))
                if !options.continueOnError { return false }
            }
        }
        return true
    }
}

extension ChangeRecord {
    /// Deletes and renames: slapd 2.5 fails or hangs on deletes and moves inside a transaction, and
    /// transactions holding plain renames once stopped it too (docs/slapd-transactions.md).
    var isUnsafeInTransaction: Bool {
        switch change {
        case .delete, .modifyDN: true
        default: false
        }
    }
}
