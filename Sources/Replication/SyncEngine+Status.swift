import Foundation
import LDAPClient
import LDAPModel
import MIME
import MailDrop
import RunSupport

/// Per source: what the directory records and what waits in the drop (`bridgehead status`).
public struct SourceStatus: Sendable, Codable, Hashable {
    public var source: String
    public var lastSequence: UInt64?
    public var lastMessageID: String?
    public var lastApplied: Date?
    /// Messages in the drop that the next run would apply.
    public var ready: Int
    /// Messages in the drop behind a gap: how many, the sequence they wait for, since when.
    public var held: Int
    public var waitingFor: UInt64?
    public var waitingSince: Date?
    public var quarantined: Int
    /// The last request sent to the source for what a gap lacked ("resend 4-6"), and when.
    public var lastRequest: String? = nil
    public var lastRequestSent: Date? = nil
}

public struct StatusReport: Sendable, Codable {
    public var sources: [SourceStatus]
    /// Quarantined messages that name no configured source (unreadable, unknown source).
    public var quarantinedUnattributed: Int
    /// The last real run, as it recorded itself (nil when none has run with this status file).
    public var lastRun: RunRecord?
    /// A publishing site's side (filled in by the CLI when the configuration has `[publish]`).
    public var publisher: PublisherStatus?
    /// The version of the bridgehead that reports.
    public var version = BridgeheadVersion.current

    public init(sources: [SourceStatus] = [], quarantinedUnattributed: Int = 0, lastRun: RunRecord? = nil, publisher: PublisherStatus? = nil) {
        self.sources = sources
        self.quarantinedUnattributed = quarantinedUnattributed
        self.lastRun = lastRun
        self.publisher = publisher
    }
}

/// A quarantined message and why it is (or would now be) refused, recomputed from its bytes.
public struct QuarantinedMessage: Sendable, Codable, Hashable {
    public var id: String
    /// What an unverified message says it is ("site-a #4"): for people, never trusted.
    public var claims: String?
    public var source: String?
    public var sequence: UInt64?
    public var from: String?
    public var subject: String?
    public var reason: String
}

extension SyncEngine {
    /// The state of every source, read without changing anything.
    public func status(now: Date = Date()) async throws(SyncError) -> StatusReport {
        let context = try await prepare(dryRun: true)
        let candidates = try await read(context, now: now)
        let decisions = Sequencer.plan(Self.sequencerMessages(candidates), lastApplied: context.states.mapValues(\.sequence))
        var sources: [String: SourceStatus] = [:]
        for settings in configuration.sources {
            let state = context.states[settings.id]
            sources[settings.id] = SourceStatus(
                source: settings.id, lastSequence: state?.sequence, lastMessageID: state?.messageID, lastApplied: state?.applied, ready: 0, held: 0,
                quarantined: 0, lastRequest: state?.request.map { "\($0.request)" }, lastRequestSent: state?.request?.time)
        }
        for (message, decision) in decisions {
            switch decision {
            case .apply: sources[message.source]?.ready += 1
            case .held(let waitingFor, let since):
                sources[message.source]?.held += 1
                sources[message.source]?.waitingFor = waitingFor
                sources[message.source]?.waitingSince = since
            case .duplicate, .superseded: break
            }
        }
        var unattributed = 0
        // Only whose they are: no reasons, so nothing is planned.
        for message in try await quarantined(context, now: now, reasons: false) {
            if let source = message.source, sources[source] != nil { sources[source]?.quarantined += 1 } else { unattributed += 1 }
        }
        return StatusReport(
            sources: sources.values.sorted { $0.source < $1.source }, quarantinedUnattributed: unattributed,
            lastRun: RunRecord.read(configuration.agent.statusFile))
    }

    /// The quarantine folder's messages, each with the reason it is refused now.
    public func quarantined(now: Date = Date()) async throws(SyncError) -> [QuarantinedMessage] {
        try await quarantined(try await prepare(dryRun: true), now: now)
    }

    func quarantined(_ context: Context, now: Date, reasons: Bool = true) async throws(SyncError) -> [QuarantinedMessage] {
        let folder = drop.quarantine()
        let references: [MessageReference]
        do {
            references = try await folder.list()
        } catch {
            // An IMAP server refuses to select a quarantine folder that was never created: nothing in it.
            if error.kind == .configuration { return [] }
            throw .mail(error)
        }
        var result: [QuarantinedMessage] = []
        for reference in references {
            let input: FetchedMessage
            switch try await fetch(reference, from: folder) {
            case .some(.message(let message)): input = message
            case .some(.refused(let refusal)):
                result.append(QuarantinedMessage(id: reference.id, reason: refusal))
                continue
            case .none: continue
            }
            let candidate =
                await examine(input, reference: reference, context: context, now: now)
                ?? Candidate(reference: reference, decoded: nil, refusal: "a request for messages, which bridgehead publish answers", received: now)
            var entry = QuarantinedMessage(id: reference.id, reason: candidate.refusal ?? "")
            guard let decoded = candidate.decoded else {
                // Refused before it was known whose it is: say what it claims, for people (from its
                // headers; a large one's found in its file without reading it whole).
                let headers: (outer: MIMEHeader, inner: MIMEHeader)?
                switch input {
                case .bytes(let bytes):
                    headers = (try? MIMEParser.parse(bytes)).map { ($0.header, ($0.parts.first ?? $0).header) }
                case .file(let file):
                    headers = (try? MessageLayout.scan(file)).map {
                        ($0.header.header, ($0.parts.first?.header ?? $0.header).header)
                    }
                }
                if let (outer, inner) = headers {
                    entry.from = outer["From"]
                    entry.subject = outer["Subject"]
                    if let source = inner["Bridgehead-Source"] {
                        entry.claims = source + (inner["Bridgehead-Sequence"].map { " #\($0)" } ?? "")
                    }
                }
                result.append(entry)
                continue
            }
            entry.source = decoded.message.source
            entry.sequence = decoded.message.sequence
            entry.from = decoded.from
            entry.subject = decoded.subject
            let last = context.states[decoded.message.source]?.sequence ?? 0
            if !reasons {
                // Whose it is is all that was asked.
            } else if decoded.message.sequence <= last {
                entry.reason =
                    "sequence \(decoded.message.sequence) was applied since (last applied: \(last)); releasing it settles it as a duplicate"
            } else if decoded.message.sequence > last + 1 {
                entry.reason = "valid now; it would wait for sequence \(last + 1) first (released, it is held until then)"
            } else {
                let planned: Result<MessagePlan, PlanError>
                do throws(PlanError) {
                    guard let planner = context.planner(for: decoded.message.source) else {
                        throw .refused("source \(decoded.message.source) is not configured")
                    }
                    switch candidate.message() {
                    case .success(let message): planned = .success(try await planner.plan(message, records: candidate.records(of: message)))
                    case .failure(let error): throw .refused(error.description)
                    case nil: throw .refused(candidate.refusal ?? "not decoded")
                    }
                } catch {
                    planned = .failure(error)
                }
                switch planned {
                case .success(let plan): entry.reason = "valid now: \(plan.changes.count) changes would apply (release it to apply)"
                case .failure(.directory(let error)): throw .ldap(error)
                case .failure(let error): entry.reason = error.description
                }
            }
            result.append(entry)
        }
        return result
    }

    /// Moves a quarantined message back into the drop, where the next run takes it again.
    public func release(_ id: String) async throws(SyncError) -> QuarantinedMessage? {
        let folder = drop.quarantine()
        let references: [MessageReference]
        do {
            references = try await folder.list()
        } catch {
            if error.kind == .configuration { return nil }
            throw .mail(error)
        }
        guard let reference = references.first(where: { $0.id == id }) else { return nil }
        do {
            try await folder.settle(reference, as: .processed)
        } catch {
            throw .mail(error)
        }
        return QuarantinedMessage(id: id, reason: "released")
    }
}
