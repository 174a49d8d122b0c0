import LDAPClient
import LDAPModel

/// Sends change records to the directory: the one way `bridgehead apply` and `bridgehead sync` both
/// write. The ordering rule (docs/decisions.md, "Writing to the directory"):
///
/// 1. **With transactions**, consecutive adds and modifies share one RFC 5805 transaction (at most
///    `batchSize` records). Inside it, a stretch of independent records (no two touch the same entry,
///    none is the parent of another) is pipelined; dependent ones wait for the answers before them,
///    because slapd queues pipelined transaction operations in the order its threads take them.
/// 2. **Deletes and renames go alone**, between transactions, in their place in the sequence: slapd 2.5
///    fails or hangs on them inside one (docs/slapd-transactions.md, findings 1 and 3).
/// 3. **Without transactions** every record goes alone, made idempotent: modifies carry Permissive
///    Modify, and the delete of an entry that is already gone counts as done, so that a run stopped
///    midway and run again reaches the same result. Independent stretches are pipelined.
/// 4. **A refusal names its record** (its index in the records given) with the server's answer. A
///    refused transaction is rolled back whole; records alone before the refusal stay applied.
///
/// Transactions are used only where the caller decides so: on OpenLDAP they are off unless configured
/// (`TransactionSupport`).
public struct DirectoryWriter: Sendable {
    public let connection: LDAPConnection
    public let transactions: Bool
    /// Most records in one transaction.
    public let batchSize: Int
    public let alone: Alone

    /// How records that go alone are sent.
    public enum Alone: Sendable, Hashable {
        /// Rule 3 (`sync`): Permissive Modify, a delete of a missing entry is done, independent ones pipelined.
        case idempotent
        /// As written (`apply`, like ldapmodify): one at a time, so that nothing after a refusal is sent;
        /// or, when the caller goes on past refusals, independent ones pipelined.
        case asWritten(continueOnError: Bool)
    }

    public init(connection: LDAPConnection, transactions: Bool, batchSize: Int = .max, alone: Alone = .idempotent) {
        self.connection = connection
        self.transactions = transactions
        self.batchSize = max(batchSize, 1)
        self.alone = alone
    }

    /// Records per pipelined stretch when sent alone.
    private var aloneStretch: Int { alone == .asWritten(continueOnError: false) ? 1 : 64 }

    /// A part of the records that is applied in one go: a transaction, or a stretch of independent
    /// records sent alone (pipelined).
    public enum Step: Sendable, Hashable {
        case transaction(Range<Int>)
        case alone(Range<Int>)

        public var range: Range<Int> {
            switch self {
            case .transaction(let range), .alone(let range): range
            }
        }

        public var isTransaction: Bool { if case .transaction = self { true } else { false } }
    }

    /// A record the server refused: its index in the records (a trailing record counts after them).
    public struct Refusal: Sendable {
        public var index: Int
        public var error: LDAPError
    }

    /// The steps in which `records` are applied, in order (rules 1–3).
    public func steps(_ records: [ChangeRecord]) -> [Step] {
        var steps: [Step] = []
        var start = 0
        while start < records.count {
            if transactions, !records[start].isUnsafeInTransaction {
                var end = start
                while end < records.count, end - start < batchSize, !records[end].isUnsafeInTransaction { end += 1 }
                steps.append(.transaction(start..<end))
                start = end
            } else {
                // Alone: up to the next record that may go in a transaction.
                var end = start
                while end < records.count, !transactions || records[end].isUnsafeInTransaction { end += 1 }
                let part = Array(records[start..<end])
                steps += Self.independentStretches(part, limit: aloneStretch).map { .alone($0.lowerBound + start..<$0.upperBound + start) }
                start = end
            }
        }
        return steps
    }

    /// Applies one step of `records`. `trailing` records (the agent's own state update) go last inside
    /// the step's transaction; for a step alone they must be applied as a step of their own.
    /// Returns the refusals (at most one for a transaction); throws only when the connection fails.
    public func apply(_ step: Step, of records: [ChangeRecord], trailing: [ChangeRecord] = []) async throws(LDAPError) -> [Refusal] {
        switch step {
        case .transaction(let range): return try await applyTransaction(Array(records[range]) + trailing, offset: range.lowerBound)
        case .alone(let range): return try await applyAlone(Array(records[range]), offset: range.lowerBound)
        }
    }

    private func applyTransaction(_ records: [ChangeRecord], offset: Int) async throws(LDAPError) -> [Refusal] {
        var results: [LDAPResult] = []
        do {
            try await connection.withTransaction { transaction throws(LDAPError) in
                for stretch in Self.independentStretches(records) {
                    let part = Array(records[stretch])
                    results += try await connection.pipeline(part, controls: [transaction.control], window: part.count)
                    if let refused = results.firstIndex(where: { $0.code != .success }) {
                        var error = results[refused].error(records[refused].summary)
                        error.failedMessageID = results[refused].messageID
                        throw error
                    }
                }
            }
            connection.noteStored(records)
            return []
        } catch {
            if error.isTransportFailure { throw error }
            // Refused while sending, or at the commit: the server names the failing operation's message id.
            guard let index = error.failedMessageID.flatMap({ id in results.firstIndex { $0.messageID == id } }) else {
                return [Refusal(index: offset, error: error)]
            }
            var refusal = error
            if results[index].code == .success { refusal.operation = records[index].summary + " (at the commit)" }
            return [Refusal(index: offset + index, error: refusal)]
        }
    }

    private func applyAlone(_ records: [ChangeRecord], offset: Int) async throws(LDAPError) -> [Refusal] {
        let idempotent = alone == .idempotent
        let prepared = records.map { record -> ChangeRecord in
            guard idempotent, case .modify = record.change, record.controls.isEmpty else { return record }
            return ChangeRecord(dn: record.dn, change: record.change, controls: [.permissiveModify()])
        }
        var refusals: [Refusal] = []
        for stretch in Self.independentStretches(prepared, limit: aloneStretch) {
            let part = Array(prepared[stretch])
            let results = try await connection.pipeline(part, window: part.count)
            for (position, result) in zip(stretch, results) where result.code != .success {
                if idempotent, case .delete = records[position].change, result.code == .noSuchObject { continue }
                refusals.append(Refusal(index: offset + position, error: result.error(records[position].summary)))
            }
            connection.noteStored(zip(stretch, results).filter { $0.1.code == .success }.map { records[$0.0] })
            if !refusals.isEmpty { break }
        }
        return refusals
    }

    /// Consecutive stretches of `records` whose order does not matter: no two touch the same entry,
    /// none is the parent of another, no rename. Each stretch can be sent without waiting for answers.
    public static func independentStretches(_ records: [ChangeRecord], limit: Int = 64) -> [Range<Int>] {
        var stretches: [Range<Int>] = []
        var start = 0
        var touched: Set<String> = []
        var parents: Set<String> = []
        for (index, record) in records.enumerated() {
            let dn = record.dn.normalized
            let parent = record.dn.parent?.normalized ?? ""
            var rename = false
            if case .modifyDN = record.change { rename = true }
            let conflict =
                index - start >= limit || rename || touched.contains(dn) || touched.contains(parent) || parents.contains(dn)
            if conflict, index > start {
                stretches.append(start..<index)
                start = index
                touched = []
                parents = []
            }
            touched.insert(dn)
            parents.insert(parent)
            if rename {
                stretches.append(index..<index + 1)
                start = index + 1
                touched = []
                parents = []
            }
        }
        if start < records.count { stretches.append(start..<records.count) }
        return stretches
    }

    // MARK: Checking before writing

    /// The server's objection to the first of `records` that does not depend on a record before it
    /// (in `earlier` or in `records`), found without writing anything: deletes are checked for entries
    /// that would remain below them (by reading, which the server answers in parallel), everything else
    /// with the No-Op control. nil when nothing is refused. Used before the first step of records that
    /// cannot be applied all at once, so that a refusal in a later step is found while nothing is applied.
    /// Indexes in the refusal count in `records`.
    public func precheck(_ records: [ChangeRecord], after earlier: [ChangeRecord]) async throws(LDAPError) -> Refusal? {
        var check = Precheck(self, after: earlier)
        return try await check.next(records)
    }

    /// `precheck` over records that come a part at a time (a plan read back from its file): what the
    /// parts before touched, added and deleted is remembered for the parts after.
    public struct Precheck {
        let writer: DirectoryWriter
        private var planned = PlannedSoFar()
        /// Positions count from the first record after `earlier`; earlier ones are negative.
        private var position: Int
        private var deletedAt: [String: Int] = [:]
        /// Normalised DNs added or moved below each parent (by its normalised DN), and where.
        private var addedBelow: [String: [(position: Int, key: String)]] = [:]

        public init(_ writer: DirectoryWriter, after earlier: [ChangeRecord]) {
            self.writer = writer
            position = -earlier.count
            for record in earlier {
                planned.note(record)
                remember(record)
            }
        }

        private mutating func remember(_ record: ChangeRecord) {
            switch record.change {
            case .delete: deletedAt[record.dn.normalized] = position
            case .add:
                if let parent = record.dn.parent { addedBelow[parent.normalized, default: []].append((position, record.dn.normalized)) }
            case .modifyDN:
                deletedAt[record.dn.normalized] = position
                if let target = record.renamedDN, let parent = target.parent {
                    addedBelow[parent.normalized, default: []].append((position, target.normalized))
                }
            case .modify: break
            }
            position += 1
        }

        /// The server's objection to the first of the next `records` (its index counts from the
        /// first record of the first part); nil when it has none. A delete is refused when entries
        /// would remain below it: children deleted before it do not count, children added or moved
        /// there before it do (children deleted in a later part would be deleted after it).
        public mutating func next(_ records: [ChangeRecord]) async throws(LDAPError) -> Refusal? {
            let first = position
            var checked: [Int] = []
            for (index, record) in records.enumerated() {
                if !planned.affects(record) { checked.append(index) }
                planned.note(record)
                remember(record)
            }
            let deletes = checked.filter { if case .delete = records[$0].change { true } else { false } }
            let others = checked.filter { if case .delete = records[$0].change { false } else { true } }
            let connection = writer.connection
            if !deletes.isEmpty {
                let children = try await connection.children(deletes.map { records[$0].dn })
                for (index, below) in zip(deletes, children) {
                    let dn = records[index].dn
                    let at = first + index
                    let added = (addedBelow[dn.normalized] ?? []).filter { $0.position < at }.map(\.key)
                    guard (below.map(\.normalized) + added).contains(where: { (deletedAt[$0] ?? Int.max) > at }) else { continue }
                    let error = LDAPError(
                        code: ResultCode(rawValue: 66), diagnosticMessage: "entries below it remain", operation: records[index].summary)
                    return Refusal(index: at, error: error)
                }
            }
            // A record that would store an attribute its database has never stored is not checked: slapd's
            // No-Op would corrupt the database (LDAPConnection.isSafeForNoOp).
            var safe: [Int] = []
            for index in others where try await connection.isSafeForNoOp(records[index]) { safe.append(index) }
            guard !safe.isEmpty else { return nil }
            let results = try await connection.pipeline(safe.map { records[$0] }, controls: [.noOp], window: 64)
            for (index, result) in zip(safe, results) where result.code != .noOperation && result.code != .success {
                return Refusal(index: first + index, error: result.error(records[index].summary))
            }
            return nil
        }
    }
}

/// What the records planned so far touch. A record on the same entries (or on the parent of one, or
/// under one) depends on them, and cannot be checked against the directory as it is — which has not
/// seen them — with No-Op.
struct PlannedSoFar {
    private var touched: Set<String> = []
    private var parents: Set<String> = []

    /// (A delete's children are checked another way, so entries touched below it do not count.)
    func affects(_ record: ChangeRecord) -> Bool {
        if touched.contains(record.dn.normalized) { return true }
        if case .delete = record.change {
        } else if parents.contains(record.dn.normalized) {
            return true
        }
        if case .add = record.change, let parent = record.dn.parent, touched.contains(parent.normalized) { return true }
        if let target = record.renamedDN {
            return touched.contains(target.normalized) || target.parent.map { touched.contains($0.normalized) } == true
        }
        return false
    }

    mutating func note(_ record: ChangeRecord) {
        for dn in [record.dn, record.renamedDN].compactMap({ $0 }) {
            touched.insert(dn.normalized)
            if let parent = dn.parent { parents.insert(parent.normalized) }
        }
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
