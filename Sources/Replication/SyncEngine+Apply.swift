import Coding
import Foundation
import LDAPClient
import LDAPModel
import Logging
import MailDrop
import RunSupport

/// Writing a plan to the directory (through `DirectoryWriter`), checking one in a dry run, settling
/// a message in the drop, and describing it in the run's report.
extension SyncEngine {
    // MARK: Apply

    /// What became of a plan sent to the directory.
    enum Applied {
        case applied
        /// The server refused a record: the message goes to the quarantine with this reason.
        case refused(String)
        /// A stop was requested between two steps: the message stays in the drop.
        case stopped(String)
    }

    /// Applies a plan and the state update, by `DirectoryWriter`'s rule: with transactions, the plan
    /// and the state go in one transaction, except deletes and renames, which go alone between
    /// transactions (slapd 2.5 cannot hold them, docs/slapd-transactions.md), the state update then
    /// being in the last transaction or alone after the plan. A message that cannot go in one
    /// transaction has its later steps checked first (`precheck`), so that a refusal is found while
    /// nothing is applied; a run that stops midway leaves the message in the drop, and the next run
    /// plans it again against the directory as it was left, reaching the same result.
    /// A refusal the server makes because it is busy or failing (`isTransient`) is thrown: the run
    /// stops with nothing settled, and the message is applied by a later run.
    func apply(_ plan: MessagePlan, advance: ChangeRecord, transactions: Bool, stop: StopRequest?) async throws(LDAPError) -> Applied {
        if plan.changes.isSpilled { return try await applySpilled(plan, advance: advance, stop: stop) }
        let writer = DirectoryWriter(connection: connection, transactions: transactions)
        let records = plan.changes.map(\.record)
        let steps = writer.steps(records)
        // What the first step applies at once: a whole transaction, or one record.
        if let first = steps.first {
            let atOnce = first.isTransaction ? first.range.upperBound : first.range.lowerBound + 1
            if atOnce < records.count {
                // (Not the state update: slapd answers No-Op with an Assertion control by "internal error".)
                if let refusal = try await writer.precheck(Array(records[atOnce...]), after: Array(records[..<atOnce])) {
                    if refusal.error.isTransient { throw refusal.error }
                    return .refused(
                        describeFailure(plan, atOnce + refusal.index, refusal.error) + " (checked before anything was applied; nothing was)")
                }
            }
        }
        var done = 0
        for (index, step) in steps.enumerated() {
            if let stop, stop.isRequested {
                return .stopped("\(stop.cause) arrived" + partly(done, stopped: true))
            }
            let last = index == steps.count - 1
            let trailing = last && step.isTransaction ? [advance] : []
            if let refusal = try await writer.apply(step, of: records, trailing: trailing).first {
                if refusal.error.isTransient { throw refusal.error }
                return .refused(describeFailure(plan, refusal.index, refusal.error) + partly(done))
            }
            done += step.range.count
        }
        if steps.last?.isTransaction != true {
            // The state update on its own; its assertion refuses it if another agent moved the state on.
            if let refusal = try await writer.apply(.alone(0..<1), of: [advance]).first {
                if refusal.error.isTransient { throw refusal.error }
                return .refused(describeFailure(plan, records.count, refusal.error) + partly(done))
            }
        }
        return .applied
    }

    /// Operations of a spilled plan read back at a time.
    static let spilledPart = 2_000

    /// A plan too large to hold, read back from its file a part at a time, as `apply` applies a plan
    /// without transactions (one too large to hold is too large for one transaction): every operation
    /// after the first checked by the server first, part by part, nothing written; then each applied
    /// alone and idempotently; then the state update.
    private func applySpilled(_ plan: MessagePlan, advance: ChangeRecord, stop: StopRequest?) async throws(LDAPError) -> Applied {
        let writer = DirectoryWriter(connection: connection, transactions: false)
        let count = plan.changes.count
        func part(_ start: Int) throws(LDAPError) -> [ChangeRecord] {
            do {
                return try plan.changes.changes(in: start..<min(start + Self.spilledPart, count)).map(\.record)
            } catch {
                throw LDAPError(
                    code: .localError, diagnosticMessage: "the plan's temporary file cannot be read back: \(error)", operation: "read the plan back")
            }
        }
        // (The first part is read once, for the check and for applying.)
        let first = try part(0)
        var check = DirectoryWriter.Precheck(writer, after: Array(first.prefix(1)))
        for start in stride(from: 0, to: count, by: Self.spilledPart) {
            let records = start == 0 ? Array(first.dropFirst()) : try part(start)
            guard let refusal = try await check.next(records) else { continue }
            if refusal.error.isTransient { throw refusal.error }
            return .refused(
                describeFailure(plan, 1 + refusal.index, refusal.error) + " (checked before anything was applied; nothing was)")
        }
        var done = 0
        for start in stride(from: 0, to: count, by: Self.spilledPart) {
            let records = start == 0 ? first : try part(start)
            for step in writer.steps(records) {
                if let stop, stop.isRequested {
                    return .stopped("\(stop.cause) arrived" + partly(done, stopped: true))
                }
                if let refusal = try await writer.apply(step, of: records).first {
                    if refusal.error.isTransient { throw refusal.error }
                    return .refused(describeFailure(plan, start + refusal.index, refusal.error) + partly(done))
                }
                done += step.range.count
            }
        }
        if let refusal = try await writer.apply(.alone(0..<1), of: [advance]).first {
            if refusal.error.isTransient { throw refusal.error }
            return .refused(describeFailure(plan, count, refusal.error) + partly(done))
        }
        return .applied
    }

    private func partly(_ done: Int, stopped: Bool = false) -> String {
        if done == 0 { return stopped ? "; nothing of this message was applied" : "" }
        return " (the \(done) operations before it were applied; the next run plans the rest against the directory as it is)"
    }

    /// Why record `index` of the plan (or, past its end, the state update) was refused.
    private func describeFailure(_ plan: MessagePlan, _ index: Int, _ error: LDAPError) -> String {
        guard index < plan.changes.count else { return "state update refused (another agent applied this source?): \(error)" }
        guard let change = try? plan.changes.changes(in: index..<index + 1).first else {
            return "operation \(index + 1) of the plan refused: \(error.code.name): \(error.diagnosticMessage)"
        }
        return "record \(change.sourceRecord): \(change.record.summary) refused: \(error.code.name): \(error.diagnosticMessage)"
    }

    /// Sends each planned operation with the No-Op control; notes the server's objections. An
    /// operation on an entry that an earlier planned operation creates (not applied in a dry run)
    /// cannot be checked that way, and says so.
    func validate(_ plan: MessagePlan, _ report: inout MessageReport, created: inout Set<String>) async {
        for (index, change) in plan.changes.enumerated() {
            let record = change.record
            let depends: Bool
            switch record.change {
            case .add: depends = record.dn.parent.map { created.contains($0.normalized) } ?? false
            default: depends = created.contains(record.dn.normalized)
            }
            if case .add = record.change { created.insert(record.dn.normalized) }
            if let target = record.renamedDN { created.insert(target.normalized) }
            if depends {
                report.changes[index].error = "not checked: it depends on an earlier planned change, which a dry run does not make"
                continue
            }
            let problem: String?
            do {
                problem = try await connection.validate(change.record).map { "\($0.code.name): \($0.diagnosticMessage)" }
            } catch  where error.code == .notSupported {
                problem = error.diagnosticMessage
            } catch {
                problem = "\(error)"
            }
            report.changes[index].error = problem
        }
    }

    // MARK: Settling and describing

    /// Moves the message out of the drop (not in a dry run); one that vanished meanwhile was settled by another run.
    func settle(_ reference: MessageReference, _ settlement: Settlement, dryRun: Bool) async throws(SyncError) {
        guard !dryRun else { return }
        do {
            try await drop.settle(reference, as: settlement)
        } catch {
            if error.kind == .vanished {
                logger.notice("message vanished before it was settled", metadata: ["message": "\(Text.printable(reference.id))"])
                return
            }
            throw .mail(error)
        }
    }

    func describe(_ report: inout MessageReport, _ candidate: Candidate) {
        guard let decoded = candidate.decoded else { return }
        report.source = decoded.message.source
        report.sequence = decoded.message.sequence
        report.kind = decoded.message.kind.rawValue
        report.signer = decoded.signer.subject.description
        report.messageID = decoded.message.identity
        report.from = decoded.from
        report.subject = decoded.subject
    }

    static func describe(_ change: PlannedChange) -> MessageReport.Change {
        MessageReport.Change(
            operation: change.record.changeType, dn: change.record.dn.description, newDN: change.record.renamedDN?.description,
            record: change.sourceRecord,
            values: change.values.map { .init(attribute: $0.attribute, added: $0.added.map(display), removed: $0.removed.map(display)) },
            references: change.references.map { .init(attribute: $0.attribute, address: $0.original, dn: $0.target.description, via: $0.via) },
            error: nil)
    }

    /// A value for people: the text when it is printable UTF-8, else its size and base64.
    static func display(_ value: [UInt8]) -> String {
        if let text = String(validating: value, as: UTF8.self), !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return text
        }
        return "base64:" + Data(value).base64EncodedString()
    }
}
