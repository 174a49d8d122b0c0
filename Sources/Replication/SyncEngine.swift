import Addressing
import Coding
import Foundation
import LDAPClient
import LDAPModel
import LDIF
import Logging
import MIME
import MailDrop
import SMIME
import X509

/// What one run may do.
public struct SyncOptions: Sendable {
    /// Plan and report; write nothing (not the directory, not the drop, not the state).
    public var dryRun = false
    /// In a dry run, send each planned operation with the No-Op control so the server checks it.
    public var validate = false
    /// Apply at most this many messages; the rest wait for the next run.
    public var maxMessages: Int?
    /// Messages ("source:sequence") an operator allows past the delete thresholds.
    public var allowDeletes: Set<String> = []
    /// The time the run takes as now (for signature validity and how long messages have waited).
    public var now = Date()
    /// Describe every planned change in the report (a dry run always does; a quiet cron run need not).
    public var details = true
    /// Checked between messages and between the steps of one: when requested, the run ends early.
    public var stop: StopRequest?

    public init(dryRun: Bool = false, validate: Bool = false, maxMessages: Int? = nil, allowDeletes: Set<String> = [], now: Date = Date()) {
        self.dryRun = dryRun
        self.validate = validate
        self.maxMessages = maxMessages
        self.allowDeletes = allowDeletes
        self.now = now
    }
}

/// What became of one message in a run.
public struct MessageReport: Sendable, Codable, Hashable {
    public enum Outcome: String, Sendable, Codable, Hashable, CaseIterable {
        /// Applied (in a dry run: would be).
        case applied
        /// Already applied before: settled as processed, nothing applied.
        case duplicate
        /// Waits in the drop: behind a sequence gap, over a delete threshold, or behind a held message.
        case held
        /// Refused: moved to the quarantine folder (in a dry run: would be).
        case quarantined
        /// Not reached in this run (--max-messages).
        case deferred
    }

    public struct Change: Sendable, Codable, Hashable {
        public struct Values: Sendable, Codable, Hashable {
            public var attribute: String
            public var added: [String]
            public var removed: [String]
        }
        public struct Reference: Sendable, Codable, Hashable {
            public var attribute: String
            public var address: String
            public var dn: String
            public var via: String
        }
        public var operation: String
        public var dn: String
        public var newDN: String?
        /// The record of the message it comes from (1-based; 0 for a delete a full message implies).
        public var record: Int
        public var values: [Values]
        public var references: [Reference]
        /// The server's objection when the run validated (No-Op) or applied it.
        public var error: String?
    }

    public var id: String
    public var outcome: Outcome
    public var reason: String?
    public var source: String?
    public var sequence: UInt64?
    public var kind: String?
    public var signer: String?
    public var messageID: String?
    public var from: String?
    public var subject: String?
    /// For a held message: the sequence it waits for, and since when messages have waited.
    public var waitingFor: UInt64?
    public var waitingSince: Date?
    public var changes: [Change]
    /// Records that change nothing in the directory as it is.
    public var unchanged: Int
    /// Held until an operator acts (a delete threshold): the run exits 1 so that cron reports it.
    public var awaitsOperator = false
    /// Held behind a gap for longer than the gap timeout.
    public var overdue = false
    /// The planned changes as LDIF change records (for --format ldif; the agent's own state update,
    /// which the run sends with them, is not among them).
    public var ldif: [ChangeRecord] = []

    enum CodingKeys: String, CodingKey {
        case id, outcome, reason, source, sequence, kind, signer, messageID, from, subject, waitingFor, waitingSince, changes, unchanged
        case awaitsOperator, overdue
    }
}

/// A whole run: every message and the totals.
public struct RunReport: Sendable, Codable {
    public var dryRun: Bool
    public var started: Date
    public var finished: Date
    public var messages: [MessageReport]
    /// Operations sent (applied, or in a dry run planned).
    public var changes: Int
    /// Held messages that have waited longer than the gap timeout.
    public var overdue: Int
    /// The run ended early on a stop request (SIGTERM, SIGINT).
    public var stopped = false

    public func count(_ outcome: MessageReport.Outcome) -> Int { messages.count { $0.outcome == outcome } }

    /// sysexits: 75 when the run was stopped early (try again later); else 0, or 1 when some message
    /// was quarantined, has waited past the gap timeout, or waits for an operator to allow its deletes.
    public var exitStatus: Int32 {
        if stopped { return 75 }
        return count(.quarantined) > 0 || overdue > 0 || messages.contains(where: \.awaitsOperator) ? 1 : 0
    }
}

/// A run could not go on: the server or drop is unavailable, or the configuration is unusable.
public enum SyncError: Error, Sendable, CustomStringConvertible {
    case ldap(LDAPError)
    case mail(MailDropError)
    case configuration(String)

    public var description: String {
        switch self {
        case .ldap(let error): "\(error)"
        case .mail(let error): "mail drop: \(error)"
        case .configuration(let reason): reason
        }
    }
}

/// The pipeline of DESIGN.md for one run: drop → decode and verify → identify → order → policy →
/// resolve → plan → apply (one transaction per message, state included) or preview → settle.
public struct SyncEngine: Sendable {
    public let configuration: Configuration
    public let connection: LDAPConnection
    public let drop: any MailDrop
    let logger: Logger

    public init(configuration: Configuration, connection: LDAPConnection, drop: any MailDrop, logger: Logger = Logger(label: "bridgehead.sync")) {
        self.configuration = configuration
        self.connection = connection
        self.drop = drop
        self.logger = logger
    }

    /// One message read from the drop, decoded or with the reason it is not valid.
    struct Candidate: Sendable {
        var reference: MessageReference
        var decoded: DecodedMessage?
        var refusal: String?
        var received: Date
    }

    public func run(_ options: SyncOptions) async throws(SyncError) -> RunReport {
        let started = Date()
        let context = try await prepare(dryRun: options.dryRun)
        let candidates = try await read(context, now: options.now)
        var states = context.states
        var reports: [MessageReport] = []
        var totalChanges = 0
        var runDeletes = 0
        var applied = 0
        // A source whose message could not be applied: its later messages wait behind it.
        var blocked: [String: UInt64] = [:]
        var createdInDryRun: Set<String> = []

        for candidate in candidates where candidate.decoded == nil {
            var report = MessageReport(id: candidate.reference.id, outcome: .quarantined, reason: candidate.refusal, changes: [], unchanged: 0)
            describe(&report, candidate)
            try await settle(candidate.reference, .quarantined, &report, options)
            reports.append(report)
        }
        let sequenced = Self.sequence(candidates, states)
        var overdue = 0
        var stopped = false
        for (message, decision) in sequenced {
            let candidate = candidates[message.id]
            let decoded = candidate.decoded!
            let source = decoded.message.source
            var report = MessageReport(id: candidate.reference.id, outcome: .held, changes: [], unchanged: 0)
            describe(&report, candidate)
            let allowance = "\(source):\(message.sequence)"
            /// Refused: to the quarantine, and the source's later messages wait behind it.
            func quarantine(_ reason: String) async throws(SyncError) {
                report.outcome = .quarantined
                report.reason = reason
                blocked[source] = message.sequence
                try await settle(candidate.reference, .quarantined, &report, options)
                reports.append(report)
            }
            /// After a refusal: whether another agent on the same directory moved this source on during the
            /// run (then the message was, or is being, applied there: a duplicate, or left for the next run).
            func movedOn() async throws(SyncError) -> Bool {
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
                if let latest, latest.sequence >= message.sequence {
                    report.outcome = .duplicate
                    report.reason =
                        "sequence \(message.sequence) of \(source) was applied by another agent meanwhile (its state records #\(latest.sequence))"
                    states[source] = latest
                    try await settle(candidate.reference, .processed, &report, options)
                } else {
                    report.outcome = .deferred
                    let who = latest?.claim.map { " (\($0.holder) claimed #\($0.sequence))" } ?? ""
                    report.reason = "another agent is applying \(source)'s messages\(who); left for the next run"
                    stopped = true
                }
                reports.append(report)
                return true
            }
            /// Held until an operator allows its deletes; the source's later messages wait behind it.
            func awaitOperator(_ reason: String) {
                report.reason = reason + " (allow it with: bridgehead sync --allow-deletes \(allowance))"
                report.waitingSince = candidate.received
                report.awaitsOperator = true
                blocked[source] = message.sequence
                reports.append(report)
            }
            switch decision {
            case .duplicate(let last):
                report.outcome = .duplicate
                report.reason = "sequence \(message.sequence) of \(source) was applied before (last applied: \(last))"
                try await settle(candidate.reference, .processed, &report, options)
            case .held(let waitingFor, let since):
                report.reason = "waits for sequence \(waitingFor) of \(source)"
                report.waitingFor = waitingFor
                report.waitingSince = since
                if options.now.timeIntervalSince(since) > configuration.agent.gapTimeout {
                    overdue += 1
                    report.overdue = true
                }
            case .apply:
                if stopped || options.stop?.isRequested == true {
                    stopped = true
                    report.outcome = .deferred
                    report.reason = "the run was stopped (\(options.stop?.cause ?? "a stop request")) before this message; left for the next run"
                    break
                }
                if let limit = options.maxMessages, applied >= limit {
                    report.outcome = .deferred
                    report.reason = "--max-messages \(limit) reached; left for the next run"
                    blocked[source] = blocked[source] ?? message.sequence
                    break
                }
                if let waitingFor = blocked[source] {
                    report.reason = "waits behind sequence \(waitingFor) of \(source), which was not applied"
                    report.waitingFor = waitingFor
                    report.waitingSince = candidate.received
                    break
                }
                let allowed = options.allowDeletes.contains(allowance)
                let planned: Result<MessagePlan, PlanError>
                do {
                    planned = .success(try await context.planner(for: source, ignoringThreshold: allowed).plan(decoded.message))
                } catch {
                    planned = .failure(error)
                }
                let plan: MessagePlan
                switch planned {
                case .success(let value): plan = value
                case .failure(.directory(let error)): throw .ldap(error)
                case .failure(.refused(let reason)):
                    if !options.dryRun, try await movedOn() { continue }
                    try await quarantine(reason)
                    continue
                case .failure(.overThreshold(let reason)):
                    awaitOperator(reason)
                    continue
                }
                if let limit = configuration.agent.maxDeletesPerRun, runDeletes + plan.deletes > limit, !allowed {
                    awaitOperator("\(plan.deletes) deletes would take this run past its threshold of \(limit) (max_deletes_per_run)")
                    continue
                }
                report.unchanged = plan.unchanged
                if options.details {
                    report.changes = plan.changes.map(Self.describe)
                    report.ldif = plan.changes.map(\.record)
                }
                if options.dryRun {
                    if options.validate { await validate(plan, &report, created: &createdInDryRun) }
                    report.outcome = .applied
                } else {
                    // Claim the source (no other agent applies it meanwhile), apply, advance the state.
                    let known = states[source]
                    if let held = known?.claim, held.holder != context.holder, options.now.timeIntervalSince(held.time) < context.claimTimeout {
                        report.outcome = .deferred
                        report.reason =
                            "\(held.holder) is applying \(source) #\(held.sequence) (claimed at \(held.time)); left for the next run "
                            + "(a claim older than [agent] claim_timeout_minutes is taken over)"
                        stopped = true
                        break
                    }
                    let claim = SourceClaim(sequence: message.sequence, time: Date(), holder: context.holder)
                    let writer = DirectoryWriter(connection: connection, transactions: false)
                    let claimed: [DirectoryWriter.Refusal]
                    do {
                        claimed = try await writer.apply(.alone(0..<1), of: [context.store.claim(source, current: known, claim: claim)])
                    } catch {
                        throw .ldap(error)
                    }
                    if let refusal = claimed.first {
                        if refusal.error.isTransient { throw .ldap(refusal.error) }
                        if try await movedOn() { continue }
                        throw .ldap(refusal.error)
                    }
                    states[source] = ReplicaState(source: source, sequence: known?.sequence ?? 0, messageID: claim.token)
                    /// Gives the claim up (the message was not applied whole), so another agent may go on.
                    func release() async throws(SyncError) {
                        do {
                            _ = try await writer.apply(.alone(0..<1), of: [context.store.release(source, claim: claim, restoring: known?.messageID)])
                        } catch {
                            throw .ldap(error)
                        }
                        states[source] = known
                    }
                    let previous = known?.sequence ?? 0
                    let advance = context.store.advance(
                        source, from: previous, to: message.sequence, messageID: decoded.message.identity, at: options.now, claim: claim)
                    var outcome: Applied
                    var plan = plan
                    do {
                        outcome = try await apply(plan, advance: advance, transactions: context.transactions, stop: options.stop)
                        // Refused: planned again against the directory as it is now, in case another writer
                        // (a person, a script) changed it meanwhile; a short pause first.
                        var attempt = 1
                        while case .refused = outcome, attempt < 3 {
                            try? await Task.sleep(for: .milliseconds(Int.random(in: 150...350) * attempt))
                            attempt += 1
                            context.view.forget()
                            guard let again = try? await context.planner(for: source, ignoringThreshold: allowed).plan(decoded.message) else { break }
                            plan = again
                            outcome = try await apply(plan, advance: advance, transactions: context.transactions, stop: options.stop)
                        }
                    } catch {
                        throw .ldap(error)
                    }
                    if options.details {
                        report.unchanged = plan.unchanged
                        report.changes = plan.changes.map(Self.describe)
                        report.ldif = plan.changes.map(\.record)
                    }
                    switch outcome {
                    case .applied: break
                    case .refused(let reason):
                        context.view.forget()
                        try await release()
                        if try await movedOn() { continue }
                        try await quarantine(reason)
                        continue
                    case .stopped(let reason):
                        try await release()
                        report.outcome = .deferred
                        report.reason = reason + "; left for the next run"
                        stopped = true
                        reports.append(report)
                        continue
                    }
                    report.outcome = .applied
                    logger.info(
                        "applied", metadata: ["source": "\(source)", "sequence": "\(message.sequence)", "changes": "\(plan.changes.count)"])
                    try await settle(candidate.reference, .processed, &report, options)
                }
                context.view.commit(plan.effects)
                states[source] = ReplicaState(source: source, sequence: message.sequence, messageID: decoded.message.identity, applied: options.now)
                totalChanges += plan.changes.count
                runDeletes += plan.deletes
                applied += 1
            }
            reports.append(report)
        }
        return RunReport(
            dryRun: options.dryRun, started: started, finished: Date(), messages: reports, changes: totalChanges, overdue: overdue, stopped: stopped)
    }

    /// The sequencer's decisions for the messages that decoded (ids: positions in `candidates`).
    static func sequence(
        _ candidates: [Candidate], _ states: [String: ReplicaState]
    ) -> [(message: Sequencer.Message<Int>, decision: SequenceDecision)] {
        let valid = candidates.enumerated().compactMap { index, candidate in
            candidate.decoded.map {
                Sequencer.Message(id: index, source: $0.message.source, sequence: $0.message.sequence, received: candidate.received)
            }
        }
        return Sequencer.plan(valid, lastApplied: states.mapValues(\.sequence))
    }

    // MARK: Preparation

    final class Context: @unchecked Sendable {
        let store: ReplicaStateStore
        let states: [String: ReplicaState]
        let schema: Subschema
        let transactions: Bool
        let base: DN
        let view: DirectoryView
        let decoder: MessageDecoder
        let configuration: Configuration
        /// Each source's configured addresses, parsed once.
        let senders: [String: [Address]]
        /// This agent's name in source claims, and how old another agent's claim must be to be taken over.
        let holder: String
        let claimTimeout: Double
        private var planners: [String: Planner] = [:]

        init(
            store: ReplicaStateStore, states: [String: ReplicaState], schema: Subschema, transactions: Bool, base: DN, view: DirectoryView,
            decoder: MessageDecoder, configuration: Configuration
        ) {
            self.store = store
            self.states = states
            self.schema = schema
            self.transactions = transactions
            self.base = base
            self.view = view
            self.decoder = decoder
            self.configuration = configuration
            self.holder = SourceClaim.holder(lockFile: configuration.agent.lockFile)
            self.claimTimeout = configuration.agent.claimTimeout
            self.senders = Dictionary(
                uniqueKeysWithValues: configuration.sources.map { ($0.id, $0.addresses.compactMap { try? AddressParser.parse($0) }) })
        }

        func planner(for source: String, ignoringThreshold: Bool = false) -> Planner {
            if !ignoringThreshold, let planner = planners[source] { return planner }
            let settings = configuration.sources.first { $0.id == source }!
            var policy = settings.policy
            if ignoringThreshold { policy.maxDeletes = nil }
            let resolver =
                planners[source]?.resolver
                ?? AddressResolver(connection: view.connection, base: base, attributes: configuration.resolve.attributes, naming: settings.naming)
            let planner = Planner(source: source, naming: settings.naming, policy: policy, schema: schema, resolver: resolver, view: view)
            if !ignoringThreshold { planners[source] = planner }
            return planner
        }
    }

    func prepare(dryRun: Bool) async throws(SyncError) -> Context {
        guard let stateText = configuration.ldap.stateDN, let container = DN(stateText) else {
            throw .configuration("\(configuration.path): ldap.state_dn is missing or not a DN (e.g. state_dn = \"ou=bridgehead,dc=example,dc=com\")")
        }
        var verifiers: [String: SMIMEVerifier] = [:]
        for source in configuration.sources {
            guard let certificate = source.certificate else {
                throw .configuration("\(configuration.path): source \(source.id) has no certificate; its messages could never be verified")
            }
            let verifier: SMIMEVerifier
            do {
                verifier = try SMIMEVerifier(pemFiles: [certificate], signerAddresses: source.signerAddresses)
            } catch {
                throw .configuration("\(configuration.path): source \(source.id): certificate \(certificate): \(error)")
            }
            if verifier.trustRoots.isEmpty, verifier.pinned.isEmpty {
                throw .configuration("\(configuration.path): source \(source.id): certificate \(certificate) holds no certificate")
            }
            if !verifier.trustRoots.isEmpty, source.signerAddresses.isEmpty {
                throw .configuration(
                    "\(configuration.path): source \(source.id): \(certificate) is a CA certificate, which trusts everything it issued; "
                        + "list the source's e-mail addresses (addresses = [\"dra@site.example.com\"]): a signer must carry one of them "
                        + "in its subjectAltName, or pin the source's own certificate instead")
            }
            for note in verifier.notes { logger.notice("source \(source.id): certificate \(certificate) \(note)") }
            verifiers[source.id] = verifier
        }
        let store = ReplicaStateStore(connection: connection, container: container)
        do {
            if !dryRun { try await store.ensureContainer() }
            let states: [String: ReplicaState]
            do {
                states = try await store.read()
            } catch {
                // In a dry run the container may not exist yet: no state, nothing applied so far.
                guard dryRun, error.code == .noSuchObject else { throw error }
                states = [:]
            }
            let schema = try await connection.subschema()
            let support = try await connection.transactionSupport()
            let transactions = configuration.agent.useTransactions ?? support.isDefault
            if transactions {
                switch support {
                case .unsupported:
                    throw SyncError.configuration(
                        "\(configuration.path): agent.transactions = true, but the server does not offer RFC 5805 transactions; remove the key")
                case .unsafe(let reason):
                    logger.notice(
                        "transactions are on by [agent] transactions = true although \(reason); set it to false unless you accept that risk")
                case .supported: break
                }
            }
            guard let base = try await configuration.searchBase(on: connection) else {
                throw SyncError.configuration("the server names no naming context; set [resolve] base")
            }
            return Context(
                store: store, states: states, schema: schema, transactions: transactions, base: base,
                view: DirectoryView(connection: connection, addressAttributes: configuration.resolve.attributes),
                decoder: MessageDecoder(
                    sources: verifiers, limits: MIMELimits(maxMessageSize: configuration.mail?.maxMessageBytes ?? MIMELimits.default.maxMessageSize)),
                configuration: configuration)
        } catch let error as LDAPError {
            throw .ldap(error)
        } catch let error as SyncError {
            throw error
        } catch {
            throw .configuration("\(error)")
        }
    }

    /// Lists and reads the drop; decodes, verifies and identifies every message.
    func read(_ context: Context, now: Date) async throws(SyncError) -> [Candidate] {
        let references: [MessageReference]
        do {
            references = try await drop.list()
        } catch {
            throw .mail(error)
        }
        var candidates: [Candidate] = []
        for (index, reference) in references.enumerated() {
            // A drop that cannot say when a message came: its listing order stands in for arrival.
            let arrival = reference.received ?? now.addingTimeInterval(Double(index - references.count) / 1000)
            switch try await fetch(reference, from: drop) {
            case .some(.bytes(let bytes)):
                candidates.append(await examine(bytes, reference: reference, context: context, now: now, received: arrival))
            case .some(.refused(let refusal)):
                candidates.append(Candidate(reference: reference, decoded: nil, refusal: refusal, received: arrival))
            case .none: continue
            }
        }
        return candidates
    }

    enum Fetched {
        case bytes([UInt8])
        case refused(String)
    }

    /// A message's bytes; or why it was not read (too large: it is refused unread, before a byte of
    /// it is fetched, as the listing gives its size); nil when it vanished meanwhile.
    func fetch(_ reference: MessageReference, from drop: any MailDrop) async throws(SyncError) -> Fetched? {
        let limit = configuration.mail?.maxMessageBytes ?? MIMELimits.default.maxMessageSize
        if let size = reference.size, size > UInt64(limit) {
            return .refused("the message is \(size) bytes, more than [mail] max_message_bytes = \(limit); it was not read")
        }
        do {
            let bytes = try await drop.fetch(reference)
            guard bytes.count <= limit else {
                return .refused("the message is \(bytes.count) bytes, more than [mail] max_message_bytes = \(limit)")
            }
            return .bytes(bytes)
        } catch {
            if error.kind == .vanished {
                logger.notice("message vanished before it was read", metadata: ["message": "\(Text.printable(reference.id))"])
                return nil
            }
            throw .mail(error)
        }
    }

    func examine(_ bytes: [UInt8], reference: MessageReference, context: Context, now: Date, received: Date? = nil) async -> Candidate {
        let received = received ?? reference.received ?? now
        let decoded: DecodedMessage
        do {
            decoded = try await context.decoder.decode(bytes, at: now)
        } catch {
            return Candidate(reference: reference, decoded: nil, refusal: error.description, received: received)
        }
        guard let source = configuration.sources.first(where: { $0.id == decoded.message.source }) else {
            return Candidate(reference: reference, decoded: nil, refusal: "source \(decoded.message.source) is not configured", received: received)
        }
        // A message meant for other receivers is not ours to apply (its Bridgehead-Destination is signed).
        let destinations = decoded.message.destinations
        if !destinations.isEmpty {
            guard let me = configuration.agent.id else {
                let reason =
                    "the message is meant for \(destinations.joined(separator: ", ")); set [agent] id to this receiver's id to accept messages addressed to it"
                return Candidate(reference: reference, decoded: nil, refusal: reason, received: received)
            }
            guard destinations.contains(me) else {
                let reason = "the message is meant for \(destinations.joined(separator: ", ")), not for this receiver (\(me))"
                return Candidate(reference: reference, decoded: nil, refusal: reason, received: received)
            }
        }
        // The sender, in whatever form it came, must be one of the source's addresses.
        if !source.addresses.isEmpty {
            let from = decoded.from ?? ""
            let sender = try? AddressParser.parse(from)
            guard let sender, context.senders[source.id]?.contains(sender) == true else {
                let reason = "sender '\(from)' is not an address of source \(source.id) (configured: \(source.addresses.joined(separator: ", ")))"
                return Candidate(reference: reference, decoded: nil, refusal: reason, received: received)
            }
        }
        return Candidate(reference: reference, decoded: decoded, refusal: nil, received: received)
    }

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

    private func partly(_ done: Int, stopped: Bool = false) -> String {
        if done == 0 { return stopped ? "; nothing of this message was applied" : "" }
        return " (the \(done) operations before it were applied; the next run plans the rest against the directory as it is)"
    }

    /// Why record `index` of the plan (or, past its end, the state update) was refused.
    private func describeFailure(_ plan: MessagePlan, _ index: Int, _ error: LDAPError) -> String {
        guard index < plan.changes.count else { return "state update refused (another agent applied this source?): \(error)" }
        let change = plan.changes[index]
        return "record \(change.sourceRecord): \(change.record.summary) refused: \(error.code.name): \(error.diagnosticMessage)"
    }

    /// Sends each planned operation with the No-Op control; notes the server's objections. An
    /// operation on an entry that an earlier planned operation creates (not applied in a dry run)
    /// cannot be checked that way, and says so.
    private func validate(_ plan: MessagePlan, _ report: inout MessageReport, created: inout Set<String>) async {
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
            } catch {
                problem = "\(error)"
            }
            report.changes[index].error = problem
        }
    }

    // MARK: Settling and describing

    private func settle(
        _ reference: MessageReference, _ settlement: Settlement, _ report: inout MessageReport, _ options: SyncOptions
    ) async throws(SyncError) {
        guard !options.dryRun else { return }
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

    private func describe(_ report: inout MessageReport, _ candidate: Candidate) {
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
