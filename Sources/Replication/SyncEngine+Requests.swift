import Config
import Foundation
import MailDrop
import MessageFormat

/// A request for what a gap lacks that a run sent (in a dry run: would send), or why it could not.
public struct GapRequest: Sendable, Codable, Hashable {
    public var source: String
    /// `resend N-M`.
    public var request: String
    /// The source's e-mail addresses it goes to.
    public var to: [String]
    /// Since when messages have waited behind the gap.
    public var waitingSince: Date
    /// Sent in this run (false in a dry run, and when it failed).
    public var sent: Bool
    public var error: String?
}

extension SyncEngine {
    /// Gaps repair themselves (DESIGN.md): for each source whose messages have waited behind a gap for
    /// longer than `[agent] resend_after_hours`, a signed request for the missing sequences goes to
    /// the source's addresses, at most once per gap per `resend_after_hours` (the state entry records
    /// the last one, so a run soon after does not repeat it). Nothing when requests are not configured.
    func requestMissing(_ messages: [MessageReport], context: Context, options: SyncOptions) async -> [GapRequest] {
        guard let settings = configuration.requests, let signer = configuration.requestSigner, let me = configuration.agent.id else { return [] }
        var gaps: [String: (first: UInt64, last: UInt64, since: Date)] = [:]
        for message in messages where message.outcome == .held {
            guard let source = message.source, let sequence = message.sequence, let first = message.waitingFor, sequence > first else { continue }
            let since = message.waitingSince ?? options.now
            if let gap = gaps[source] {
                gaps[source] = (gap.first, min(gap.last, sequence - 1), min(gap.since, since))
            } else {
                gaps[source] = (first, sequence - 1, since)
            }
        }
        var result: [GapRequest] = []
        // Made once for the run's requests (an SMTP password file is read once), and only when one is sent.
        var transport: Result<any MessageTransport, ConfigurationError>?
        for (source, gap) in gaps.sorted(by: { $0.key < $1.key }) {
            guard options.now.timeIntervalSince(gap.since) >= settings.resendAfter else { continue }
            let state = context.states[source]
            if let recorded = state?.request, case .resend(let range) = recorded.request, range.lowerBound == gap.first,
                options.now.timeIntervalSince(recorded.time) < settings.resendAfter
            {
                continue
            }
            let to = configuration.sources.first { $0.id == source }?.signerAddresses.sorted() ?? []
            let request = ReplicationMessage.Request.resend(gap.first...gap.last)
            var entry = GapRequest(source: source, request: "\(request)", to: to, waitingSince: gap.since, sent: false)
            if to.isEmpty {
                entry.error = "source \(source) has no e-mail address in its addresses to send a request to"
            } else if !options.dryRun {
                do {
                    let bytes = try ReplicationMessage.request(request, from: me, to: source)
                        .compose(from: settings.from, to: to.joined(separator: ", "), signer: signer, date: options.now)
                    if transport == nil {
                        transport = Result { () throws(ConfigurationError) in
                            try settings.transport.make(configuration, section: "agent", from: settings.from)
                        }
                    }
                    try await transport?.get().deliver(.bytes(bytes), from: settings.from, to: to)
                    try await context.store.recordRequest(source, RecordedRequest(request: request, time: options.now), exists: state != nil)
                    entry.sent = true
                    logger.notice("asked source \(source) for \(request) (messages have waited behind the gap since \(gap.since))")
                } catch {
                    entry.error = "\(error)"
                }
            }
            if let error = entry.error { logger.warning("could not ask source \(source) for \(request): \(error)") }
            result.append(entry)
        }
        return result
    }
}
