import Config
import Foundation
import LDAPClient
import LDAPModel
import LDIF
import Logging
import MailDrop
import MessageFormat
import RunSupport
import SMIME

/// What one publish run may do.
public struct PublishOptions: Sendable {
    /// Build and report; write nothing (not the outbox, not the state, no mail).
    public var dryRun = false
    /// Publish a full message of the subtrees, whatever the log holds.
    public var full = false
    /// Deliver these archived messages again, byte for byte, and nothing else.
    public var resend: ClosedRange<UInt64>?
    /// Build at most this many messages; the rest waits for the next run.
    public var maxMessages: Int?
    /// Describe each record in the report (`changes`).
    public var details = false
    /// Where each message's LDIF goes as it is built (`--format ldif`): a "# SOURCE sequence N
    /// (KIND)" line, then the records.
    public var ldifOutput: (@Sendable ([UInt8]) -> Void)?
    public var now = Date()
    public var stop: StopRequest?

    public init(dryRun: Bool = false, full: Bool = false, resend: ClosedRange<UInt64>? = nil, maxMessages: Int? = nil) {
        self.dryRun = dryRun
        self.full = full
        self.resend = resend
        self.maxMessages = maxMessages
    }
}

/// The sending side: capture → records → split → number → sign → archive → advance the state →
/// deliver → mark delivered. A message is archived (synced) before the state names its sequence, and
/// the state is advanced before the message is delivered, so a run killed at any instant never reuses
/// a sequence for other content and never skips one: the next run finds what was archived and not yet
/// recorded (it rolls the state forward to it) or not yet delivered (it delivers it first).
public struct Publisher: Sendable {
    public let settings: PublishSettings
    public let stateDN: DN
    public let connection: LDAPConnection
    public let signer: SMIMESigner
    public let transport: any MessageTransport
    public let logger: Logger
    /// Where its peers' requests are read (nil: this site answers none).
    public var requests: RequestIntake?

    public init(
        settings: PublishSettings, stateDN: DN, connection: LDAPConnection, signer: SMIMESigner, transport: any MessageTransport, logger: Logger
    ) {
        self.settings = settings
        self.stateDN = stateDN
        self.connection = connection
        self.signer = signer
        self.transport = transport
        self.logger = logger
    }

    var outbox: Outbox { Outbox(root: settings.outbox, source: settings.sourceID) }
    var store: PublisherStateStore { PublisherStateStore(connection: connection, container: stateDN, source: settings.sourceID) }

    public func run(_ options: PublishOptions) async throws(PublishError) -> PublishReport {
        var report = PublishReport(source: settings.sourceID, dryRun: options.dryRun)
        if let range = options.resend {
            try await resend(range, into: &report)
            finish(&report, state: nil)
            return report
        }
        var state: PublisherState?
        do {
            if !options.dryRun { try await store.ensureContainer() }
            state = try await store.read()
        } catch {
            throw .ldap(error)
        }
        state = try await rollForward(state, dryRun: options.dryRun)
        report.from = state?.position
        if !options.dryRun { await deliverPending(into: &report) }
        if options.stop?.isRequested == true { return report }
        var asked = false
        if let requests {
            let last = max(state?.sequence ?? 0, (try? outbox.items().last?.sequence) ?? 0)
            asked = await answerRequests(requests, lastSequence: last, options: options, into: &report)
        }

        let schema: Subschema
        do {
            schema = try await connection.subschema()
        } catch {
            throw .ldap(error)
        }
        let capture = ChangeCapture(
            connection: connection, logBase: settings.accesslogBase, scope: CaptureScope(subtrees: settings.subtrees, schema: schema))
        var full = options.full || state?.position == nil || asked
        if !full, let position = state?.position {
            do {
                if try await capture.isPurged(after: position) {
                    logger.warning("the accesslog no longer holds what followed \(position) (purged): publishing a full message")
                    full = true
                }
            } catch {
                throw .ldap(error)
            }
        }
        var current = state
        if full {
            // The position is read before the content: a write in between is sent again as a change,
            // which the receiver finds already applied.
            let newest: String?
            do {
                newest = try await capture.bounds().newest
            } catch {
                throw .ldap(error)
            }
            if options.stop?.isRequested != true {
                current = try await publishFull(after: state, position: newest ?? "0", capture: capture, options: options, into: &report)
            }
        } else {
            let position = state?.position ?? "0"
            let captured = try await capture.changes(after: position)
            var batches = Self.split(
                captured.records, from: position, last: captured.last ?? position, maxChanges: settings.maxChanges, maxBytes: settings.maxBytes)
            if let limit = options.maxMessages, batches.count > limit { batches = Array(batches.prefix(limit)) }
            for batch in batches {
                if options.stop?.isRequested == true { break }
                current = try await publish(batch, after: current, options: options, into: &report)
            }
        }
        report.to = current?.position
        if !options.dryRun, options.stop?.isRequested != true { await deliverPending(into: &report) }
        finish(&report, state: current)
        return report
    }

    /// The outbox as the run leaves it, in the report.
    func finish(_ report: inout PublishReport, state: PublisherState?) {
        let items = (try? outbox.items()) ?? []
        report.lastSequence = max(state?.sequence ?? 0, items.last?.sequence ?? 0)
        report.pending = report.dryRun ? [] : items.filter { !$0.delivered }.map(\.sequence)
        report.finished = Date()
    }

    /// The records of one delta message and the log position it reaches.
    struct Batch {
        var records: [LDIFRecord]
        var position: String
    }

    /// Delta records into messages of at most `maxChanges` records and about `maxBytes` of LDIF; a
    /// message's position is the last log entry all of whose records it (or an earlier one) holds. A
    /// run of log entries with no published records still moves the position (an empty batch).
    static func split(_ records: [CapturedRecord], from start: String, last: String, maxChanges: Int, maxBytes: Int) -> [Batch] {
        guard !records.isEmpty else { return [Batch(records: [], position: last)] }
        var batches: [Batch] = []
        var chunk: [CapturedRecord] = []
        var bytes = 0
        var previousPosition: String?
        let writer = LDIFWriter()
        func close(next: CapturedRecord?) {
            guard !chunk.isEmpty else { return }
            var position = chunk[chunk.count - 1].csn
            if let next, next.csn == position {
                // The log entry goes on into the next message: this one reaches the entry before it.
                position = chunk.last(where: { $0.csn != next.csn })?.csn ?? previousPosition ?? start
            }
            if next == nil { position = last }
            batches.append(Batch(records: chunk.map { .change($0.record) }, position: position))
            previousPosition = position
            chunk = []
            bytes = 0
        }
        for record in records {
            let size = writer.render(record.record).count
            if !chunk.isEmpty, chunk.count >= maxChanges || bytes + size > maxBytes { close(next: record) }
            chunk.append(record)
            bytes += size
        }
        close(next: nil)
        return batches
    }
}
