import Addressing
import Coding
import Config
import Foundation
import LDAPClient
import LDAPModel
import LDIF
import Logging
import MIME
import MailDrop
import MessageFormat
import SMIME
import X509

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
        /// Its metadata and signer; its records too, unless it is `streamed`.
        var decoded: DecodedMessage?
        var refusal: String?
        var received: Date
        /// A large message verified from its file: its records are read again at its turn, so that
        /// a run never holds more than one message's records.
        var streamed: StreamedMessage? = nil

        /// The message to plan; nil for a candidate that did not decode. A streamed delta's records
        /// are read again from its file (and checked against what was verified); a streamed full
        /// message's are not: the planner reads them a batch at a time (`records(of:)`).
        func message() -> Result<ReplicationMessage, DecodeError>? {
            guard let decoded else { return nil }
            guard let streamed, decoded.message.kind != .full else { return .success(decoded.message) }
            return Result { () throws(DecodeError) in try streamed.message() }
        }

        /// Where the planner reads `message`'s records from, when not from the message itself: a
        /// streamed full message's file, read again for each plan.
        func records(of message: ReplicationMessage) -> RecordBatches? {
            guard message.kind == .full, let streamed else { return nil }
            return RecordBatches(streamed)
        }
    }

    /// Intake, then each message's turn (`SyncRun`), then the report.
    public func run(_ options: SyncOptions) async throws(SyncError) -> RunReport {
        let started = Date()
        let context = try await prepare(dryRun: options.dryRun)
        var run = SyncRun(engine: self, context: context, options: options, candidates: try await read(context, now: options.now))
        try await run.quarantineRefused()
        try await run.takeTurns()
        var report = run.report(started: started)
        if !report.stopped { report.requests = await requestMissing(report.messages, context: context, options: options) }
        return report
    }

    /// The messages that decoded, for the sequencer (ids: positions in `candidates`).
    static func sequencerMessages(_ candidates: [Candidate]) -> [Sequencer.Message<Int>] {
        candidates.enumerated().compactMap { index, candidate in
            candidate.decoded.map {
                Sequencer.Message(
                    id: index, source: $0.message.source, sequence: $0.message.sequence, received: candidate.received,
                    isFull: $0.message.kind == .full)
            }
        }
    }

    // MARK: Preparation

    /// What a run learns before its first message: the sources' states and verifiers, the server's
    /// schema and transaction support, the resolution base, and the run's view of the directory.
    struct Context: Sendable {
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
        /// Whether a plan too large to hold goes to a temporary file (a real run's; a dry run needs
        /// every plan's effects for the messages after it).
        let spillsPlans: Bool

        init(
            store: ReplicaStateStore, states: [String: ReplicaState], schema: Subschema, transactions: Bool, base: DN, view: DirectoryView,
            decoder: MessageDecoder, configuration: Configuration, spillsPlans: Bool
        ) {
            self.spillsPlans = spillsPlans
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

        /// A planner for `source` (nil when it is not configured), with the source's policy (without its
        /// delete threshold when an operator allowed the message's deletes); `resolver` keeps what
        /// earlier searches of the run found.
        func planner(for source: String, ignoringThreshold: Bool = false, resolver: AddressResolver? = nil) -> Planner? {
            guard let settings = configuration.sources.first(where: { $0.id == source }) else { return nil }
            var policy = settings.policy
            if ignoringThreshold { policy.maxDeletes = nil }
            let resolver =
                resolver
                ?? AddressResolver(directory: view.directory, base: base, attributes: configuration.resolve.attributes, naming: settings.naming)
            var planner = Planner(source: source, naming: settings.naming, policy: policy, schema: schema, resolver: resolver, view: view)
            planner.spillAbove = spillsPlans ? configuration.agent.planMemory : nil
            return planner
        }
    }

    func prepare(dryRun: Bool) async throws(SyncError) -> Context {
        guard let stateText = configuration.ldap.stateDN, let container = DN(stateText) else {
            throw .configuration("\(configuration.path): ldap.state_dn is missing or not a DN (e.g. state_dn = \"ou=bridgehead,dc=example,dc=com\")")
        }
        var verifiers: [String: SMIMEVerifier] = [:]
        for source in configuration.sources {
            guard let verifier = configuration.verifiers[source.id], let certificate = source.certificate else {
                throw .configuration("\(configuration.path): source \(source.id) has no certificate; its messages could never be verified")
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
                view: DirectoryView(directory: connection, addressAttributes: configuration.resolve.attributes),
                decoder: MessageDecoder(
                    sources: verifiers, limits: MIMELimits(maxMessageSize: configuration.mail?.maxMessageBytes ?? MIMELimits.default.maxMessageSize)),
                configuration: configuration, spillsPlans: !dryRun)
        } catch let error as LDAPError {
            throw .ldap(error)
        } catch let error as SyncError {
            throw error
        } catch {
            throw .configuration("\(error)")
        }
    }
}
