import Foundation
import LDAPClient
import LDAPModel
import Logging
import MailDrop
import MessageFormat

/// One run's way through its messages, after intake: each message's turn comes from the schedule;
/// a message whose turn it is is planned, checked against the per-run delete limit, and applied
/// (claim, write, state update, settle) or, in a dry run, foretold. Every message ends with one
/// report. What the messages planned so far did is in the `DirectoryView`, for those after them.
struct SyncRun {
    let engine: SyncEngine
    let context: SyncEngine.Context
    let options: SyncOptions
    let candidates: [SyncEngine.Candidate]
    var schedule: RunSchedule
    /// Each source's state as this run has left it so far.
    var states: [String: ReplicaState]
    var reports: [MessageReport] = []
    var changes = 0
    var deletes = 0
    /// Entries a dry run's planned adds and renames would create (validation cannot check what depends on them).
    var createdInDryRun: Set<String> = []
    /// One planner per source for the run (its resolver keeps what its searches found).
    var planners: [String: Planner] = [:]

    init(engine: SyncEngine, context: SyncEngine.Context, options: SyncOptions, candidates: [SyncEngine.Candidate]) {
        self.engine = engine
        self.context = context
        self.options = options
        self.candidates = candidates
        self.states = context.states
        self.schedule = RunSchedule(
            SyncEngine.sequencerMessages(candidates), lastApplied: context.states.mapValues(\.sequence), maxMessages: options.maxMessages,
            gapTimeout: engine.configuration.agent.gapTimeout, now: options.now)
    }

    /// The messages that did not decode (or whose sender is not their source's): to the quarantine.
    mutating func quarantineRefused() async throws(SyncError) {
        for candidate in candidates where candidate.decoded == nil {
            var report = MessageReport(id: candidate.reference.id, outcome: .quarantined, reason: candidate.refusal, changes: [], unchanged: 0)
            engine.describe(&report, candidate)
            try await engine.settle(candidate.reference, .quarantined, dryRun: options.dryRun)
            reports.append(report)
        }
    }

    /// Gives every decoded message its turn, in the schedule's order.
    mutating func takeTurns() async throws(SyncError) {
        while let (message, turn) = schedule.next(stopRequested: options.stop?.isRequested == true) {
            let candidate = candidates[message.id]
            guard let decoded = candidate.decoded else { continue }  // (the schedule holds decoded messages only)
            let source = decoded.message.source
            var report = MessageReport(id: candidate.reference.id, outcome: .held, changes: [], unchanged: 0)
            engine.describe(&report, candidate)
            switch turn {
            case .duplicate(let last):
                report.outcome = .duplicate
                report.reason = "sequence \(message.sequence) of \(source) was applied before (last applied: \(last))"
                try await engine.settle(candidate.reference, .processed, dryRun: options.dryRun)
            case .held(let waitingFor, let since, let overdue):
                report.reason = "waits for sequence \(waitingFor) of \(source)"
                report.waitingFor = waitingFor
                report.waitingSince = since
                report.overdue = overdue
            case .stopped:
                report.outcome = .deferred
                report.reason = "the run was stopped (\(options.stop?.cause ?? "a stop request")) before this message; left for the next run"
            case .limitReached(let limit):
                report.outcome = .deferred
                report.reason = "--max-messages \(limit) reached; left for the next run"
            case .superseded(let full):
                report.outcome = .duplicate
                report.reason = "superseded by the full message \(full) of \(source), applied in this run"
                try await engine.settle(candidate.reference, .processed, dryRun: options.dryRun)
            case .waitsBehind(let waitingFor):
                report.reason = "waits behind sequence \(waitingFor) of \(source), which was not applied"
                report.waitingFor = waitingFor
                report.waitingSince = candidate.received
            case .apply:
                switch candidate.message() {
                case .success(let whole): try await take(message, whole, candidate, &report)
                case .failure(let error): try await quarantine(error.description, message, candidate, &report)
                case nil: continue
                }
            }
            reports.append(report)
        }
    }

    func report(started: Date) -> RunReport {
        RunReport(
            dryRun: options.dryRun, started: started, finished: Date(), messages: reports, changes: changes,
            overdue: reports.count(where: \.overdue), stopped: schedule.isStopped)
    }

    // MARK: A message's turn

    /// Plans the message and applies it (or foretells it); `report` says what became of it.
    private mutating func take(
        _ scheduled: RunSchedule.Message, _ message: ReplicationMessage, _ candidate: SyncEngine.Candidate, _ report: inout MessageReport
    ) async throws(SyncError) {
        let source = message.source
        let allowed = options.allowDeletes.contains("\(source):\(message.sequence)")
        var plan: MessagePlan
        switch await planned(message, candidate, ignoringThreshold: allowed) {
        case .success(let value): plan = value
        case .failure(.directory(let error)): throw .ldap(error)
        case .failure(.refused(let reason)):
            if !options.dryRun, try await movedOn(scheduled, candidate, &report) { return }
            try await quarantine(reason, scheduled, candidate, &report)
            return
        case .failure(.overThreshold(let reason)):
            awaitOperator(reason, scheduled, candidate, &report)
            return
        }
        if let limit = engine.configuration.agent.maxDeletesPerRun, deletes + plan.deletes > limit, !allowed {
            awaitOperator(
                "\(plan.deletes) deletes would take this run past its threshold of \(limit) (max_deletes_per_run)", scheduled, candidate, &report)
            return
        }
        describe(plan, &report)
        if options.dryRun {
            if options.validate { await engine.validate(plan, &report, created: &createdInDryRun) }
            report.outcome = .applied
        } else {
            guard try await apply(&plan, scheduled, message, candidate, &report, ignoringThreshold: allowed) else { return }
        }
        context.view.commit(plan)
        states[source] = ReplicaState(source: source, sequence: message.sequence, messageID: message.identity, applied: options.now)
        changes += plan.changes.count
        deletes += plan.deletes
        schedule.applied()
    }

    /// Claims the source, applies the plan with the state update (planned again after a refusal, in
    /// case another writer changed the directory meanwhile), settles the message. False when the
    /// message was not applied (refused, deferred, or applied by another agent): `report` says why.
    private mutating func apply(
        _ plan: inout MessagePlan, _ scheduled: RunSchedule.Message, _ message: ReplicationMessage, _ candidate: SyncEngine.Candidate,
        _ report: inout MessageReport, ignoringThreshold: Bool
    ) async throws(SyncError) -> Bool {
        let source = message.source
        let known = states[source]
        if let held = known?.claim, held.holder != context.holder, options.now.timeIntervalSince(held.time) < context.claimTimeout {
            report.outcome = .deferred
            report.reason =
                "\(held.holder) is applying \(source) #\(held.sequence) (claimed at \(held.time)); left for the next run "
                + "(a claim older than [agent] claim_timeout_minutes is taken over)"
            schedule.stop()
            return false
        }
        // The claim: no other agent applies this source meanwhile.
        let claim = SourceClaim(sequence: message.sequence, time: Date(), holder: context.holder)
        if let refusal = try await writeAlone(context.store.claim(source, current: known, claim: claim)) {
            if refusal.error.isTransient { throw .ldap(refusal.error) }
            if try await movedOn(scheduled, candidate, &report) { return false }
            throw .ldap(refusal.error)
        }
        states[source] = ReplicaState(source: source, sequence: known?.sequence ?? 0, messageID: claim.token)
        let advance = context.store.advance(
            source, from: known?.sequence ?? 0, to: message.sequence, messageID: message.identity, at: options.now, claim: claim)
        var outcome: SyncEngine.Applied
        do {
            outcome = try await engine.apply(plan, advance: advance, transactions: context.transactions, stop: options.stop)
            // Refused: planned again against the directory as it is now, in case another writer
            // (a person, a script) changed it meanwhile; a short pause first.
            var attempt = 1
            while case .refused = outcome, attempt < 3 {
                try? await Task.sleep(for: .milliseconds(Int.random(in: 150...350) * attempt))
                attempt += 1
                context.view.forget()
                guard case .success(let again) = await planned(message, candidate, ignoringThreshold: ignoringThreshold) else { break }
                plan = again
                outcome = try await engine.apply(plan, advance: advance, transactions: context.transactions, stop: options.stop)
            }
        } catch {
            throw .ldap(error)
        }
        describe(plan, &report)
        switch outcome {
        case .applied:
            report.outcome = .applied
            var metadata: Logger.Metadata = ["source": "\(source)", "sequence": "\(message.sequence)", "changes": "\(plan.changes.count)"]
            if plan.changes.isSpilled { metadata["plan"] = "read back from a temporary file (more than [agent] plan_memory_mb)" }
            engine.logger.info("applied", metadata: metadata)
            try await engine.settle(candidate.reference, .processed, dryRun: false)
            return true
        case .refused(let reason):
            context.view.forget()
            try await release(source, claim, restoring: known)
            if try await movedOn(scheduled, candidate, &report) { return false }
            try await quarantine(reason, scheduled, candidate, &report)
            return false
        case .stopped(let reason):
            try await release(source, claim, restoring: known)
            report.outcome = .deferred
            report.reason = reason + "; left for the next run"
            schedule.stop()
            return false
        }
    }

    // MARK: Outcomes other than applied

    /// Refused: to the quarantine, and the source's later messages wait behind it.
    private mutating func quarantine(
        _ reason: String, _ scheduled: RunSchedule.Message, _ candidate: SyncEngine.Candidate, _ report: inout MessageReport
    ) async throws(SyncError) {
        report.outcome = .quarantined
        report.reason = reason
        schedule.notApplied(scheduled)
        try await engine.settle(candidate.reference, .quarantined, dryRun: options.dryRun)
    }

    /// Held until an operator allows its deletes; the source's later messages wait behind it.
    private mutating func awaitOperator(
        _ reason: String, _ scheduled: RunSchedule.Message, _ candidate: SyncEngine.Candidate, _ report: inout MessageReport
    ) {
        report.reason = reason + " (allow it with: bridgehead sync --allow-deletes \(scheduled.source):\(scheduled.sequence))"
        report.waitingSince = candidate.received
        report.awaitsOperator = true
        schedule.notApplied(scheduled)
    }

    /// After a refusal: whether another agent on the same directory moved this source on during the
    /// run. Then the message was applied there (a duplicate, settled) or is being applied (left for
    /// the next run, which stops here), and `report` says so.
    private mutating func movedOn(
        _ scheduled: RunSchedule.Message, _ candidate: SyncEngine.Candidate, _ report: inout MessageReport
    ) async throws(SyncError) -> Bool {
        let source = scheduled.source
        let latest: ReplicaState?
        do {
            latest = try await context.store.read()[source]
        } catch {
            throw .ldap(error)
        }
        let known = states[source]
        guard latest?.sequence != known?.sequence || latest?.messageID != known?.messageID else { return false }
        context.view.forget()
        report.changes = []
        report.ldif = []
        if let latest, latest.sequence >= scheduled.sequence {
            report.outcome = .duplicate
            report.reason =
                "sequence \(scheduled.sequence) of \(source) was applied by another agent meanwhile (its state records #\(latest.sequence))"
            states[source] = latest
            try await engine.settle(candidate.reference, .processed, dryRun: options.dryRun)
        } else {
            report.outcome = .deferred
            let who = latest?.claim.map { " (\($0.holder) claimed #\($0.sequence))" } ?? ""
            report.reason = "another agent is applying \(source)'s messages\(who); left for the next run"
            schedule.stop()
        }
        return true
    }

    // MARK: Helpers

    /// The message planned by its source's planner (one per source for the run; another, without the
    /// delete threshold, when an operator allowed this message's deletes).
    private mutating func planned(
        _ message: ReplicationMessage, _ candidate: SyncEngine.Candidate, ignoringThreshold: Bool
    ) async -> Result<MessagePlan, PlanError> {
        guard let planner = planner(for: message.source, ignoringThreshold: ignoringThreshold) else {
            return .failure(.refused("source \(message.source) is not configured"))
        }
        do {
            return .success(try await planner.plan(message, records: candidate.records(of: message)))
        } catch {
            return .failure(error)
        }
    }

    private mutating func planner(for source: String, ignoringThreshold: Bool) -> Planner? {
        if !ignoringThreshold, let planner = planners[source] { return planner }
        let planner = context.planner(for: source, ignoringThreshold: ignoringThreshold, resolver: planners[source]?.resolver)
        if !ignoringThreshold { planners[source] = planner }
        return planner
    }

    private func describe(_ plan: MessagePlan, _ report: inout MessageReport) {
        report.unchanged = plan.unchanged
        guard options.details else { return }
        // (A spilled plan is read back once for it: a report that lists every change holds them all.
        // Unreadable, it lists none; applying it then stops the run with the reason.)
        let changes = (try? plan.changes.changes(in: plan.changes.indices)) ?? []
        report.changes = changes.map(SyncEngine.describe)
        report.ldif = changes.map(\.record)
    }

    /// One record (a claim, its release) written alone; the server's refusal, if it made one.
    private func writeAlone(_ record: ChangeRecord) async throws(SyncError) -> DirectoryWriter.Refusal? {
        do {
            return try await DirectoryWriter(connection: engine.connection, transactions: false).apply(.alone(0..<1), of: [record]).first
        } catch {
            throw .ldap(error)
        }
    }

    /// Gives the claim up (the message was not applied whole), so that another agent may go on.
    private mutating func release(_ source: String, _ claim: SourceClaim, restoring known: ReplicaState?) async throws(SyncError) {
        _ = try await writeAlone(context.store.release(source, claim: claim, restoring: known?.messageID))
        states[source] = known
    }
}
