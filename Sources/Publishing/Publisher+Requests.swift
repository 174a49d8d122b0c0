import Addressing
import Config
import Foundation
import MailDrop
import MessageFormat
import RunSupport
import SMIME

/// Where a publisher reads its peers' requests: its own `[mail]` drop; each request verified against
/// the certificate of the `[[peer]]` it names, exactly as a receiver verifies a source.
public struct RequestIntake: Sendable {
    public let drop: any MailDrop
    public let peers: [Configuration.PeerSettings]
    public let decoder: MessageDecoder
    /// Whether messages of other kinds are a receiver's (the site also receives, from the same
    /// mailbox) and left where they are; otherwise they are quarantined.
    public let othersBelongToSync: Bool
    public let maxMessageBytes: Int

    public init(
        drop: any MailDrop, peers: [Configuration.PeerSettings], verifiers: [String: SMIMEVerifier], othersBelongToSync: Bool,
        maxMessageBytes: Int
    ) {
        self.drop = drop
        self.peers = peers
        self.decoder = MessageDecoder(sources: verifiers, kinds: [.request])
        self.othersBelongToSync = othersBelongToSync
        self.maxMessageBytes = maxMessageBytes
    }

    /// A request for more archived messages than this gets a full message instead (no amplification:
    /// one request never makes thousands of mails).
    public static let maxResend: UInt64 = 100
}

extension Publisher {
    /// Reads the peers' requests and answers each once: the archived messages it names, byte for byte,
    /// to the peer that asked; or, when they are no longer all archived (or too many), a full message
    /// this run (true is returned). A request that cannot be verified, or does not ask this site, is
    /// quarantined and never answered. A request whose answer could not be delivered stays in the drop
    /// for the next run. In a dry run: what would be answered, nothing sent or moved.
    func answerRequests(_ intake: RequestIntake, lastSequence: UInt64, options: PublishOptions, into report: inout PublishReport) async -> Bool {
        let references: [MessageReference]
        do {
            references = try await intake.drop.list()
        } catch {
            report.problems.append("cannot read the peers' requests in [mail]: \(error)")
            report.exitStatus = max(report.exitStatus, 69)
            return false
        }
        var wantsFull = false
        var answered: Set<String> = []
        var log = AnsweredRequests(path: settings.outbox + "/answered-requests.json")
        for reference in references {
            if options.stop?.isRequested == true { break }
            var entry = AnsweredRequest(id: reference.id)
            let settlement: Settlement
            let examined = await examine(reference, intake, options: options)
            switch examined {
            case .skip: continue
            case .refuse(let reason):
                entry.refused = reason
                settlement = .quarantined
                logger.warning("request \(reference.id) quarantined: \(reason)")
            case .request(let peer, let request, let identity):
                entry.peer = peer.id
                entry.request = "\(request)"
                // One answer per request, and per peer and range in a run: a peer that sends the same
                // request many times (or replays one) gets the messages once.
                if let earlier = log.answered[identity] {
                    // The same signed request again (a replay, or a copy redelivered): answered once only.
                    entry.answer = "none: this request was answered on \(ISO8601DateFormatter().string(from: earlier))"
                    settlement = .processed
                } else if !answered.insert(identity).inserted || !answered.insert("\(peer.id) \(request)").inserted {
                    entry.answer = "none: the same request was answered already in this run"
                    settlement = .processed
                } else {
                    switch await answer(request, peer: peer, lastSequence: lastSequence, options: options, into: &report) {
                    case .done(let answer):
                        entry.answer = answer
                        settlement = .processed
                    case .full(let why):
                        entry.answer = "a full message (\(why))"
                        wantsFull = true
                        settlement = .processed
                    case .failed(let why):
                        entry.answer = "not yet: \(why)"
                        settlement = .leftInPlace
                    }
                }
            }
            report.requests.append(entry)
            guard !options.dryRun, settlement != .leftInPlace else { continue }
            if case .request(_, _, let identity) = examined, log.answered[identity] == nil {
                log.answered[identity] = options.now
                do {
                    try log.save()
                } catch {
                    report.problems.append("cannot record the answered request in \(log.path): \(error)")
                }
            }
            do {
                try await intake.drop.settle(reference, as: settlement)
            } catch {
                report.problems.append("cannot move request \(reference.id) out of the drop: \(error)")
                report.exitStatus = max(report.exitStatus, 69)
            }
        }
        return wantsFull
    }

    enum Examined {
        case skip
        case refuse(String)
        case request(Configuration.PeerSettings, ReplicationMessage.Request, identity: String)
    }

    private func examine(_ reference: MessageReference, _ intake: RequestIntake, options: PublishOptions) async -> Examined {
        if let size = reference.size, size > UInt64(intake.maxMessageBytes) {
            return .refuse("the message is \(size) bytes, more than [mail] max_message_bytes = \(intake.maxMessageBytes); it was not read")
        }
        let bytes: [UInt8]
        do {
            bytes = try await intake.drop.fetch(reference)
        } catch {
            return error.kind == .vanished ? .skip : .refuse("cannot read it: \(error)")
        }
        let decoded: DecodedMessage
        do {
            decoded = try await intake.decoder.decode(bytes, at: options.now)
        } catch .otherKind(let kind) {
            return intake.othersBelongToSync ? .skip : .refuse("a \(kind) message; this site has no [[source]] to receive it from")
        } catch {
            return .refuse(error.description)
        }
        guard let request = decoded.message.request, let peer = intake.peers.first(where: { $0.id == decoded.message.source }) else {
            return .refuse("not a request of a configured [[peer]]")
        }
        guard decoded.message.destinations == [settings.sourceID] else {
            return .refuse("it asks \(decoded.message.destinations.joined(separator: ", ")), not this site (\(settings.sourceID))")
        }
        let sender = (try? AddressParser.parse(decoded.from ?? "")).map { $0.value.lowercased() }
        guard let sender, peer.mailAddresses.contains(sender) else {
            return .refuse(
                "sender '\(decoded.from ?? "")' is not an address of peer \(peer.id) (configured: \(peer.addresses.joined(separator: ", ")))")
        }
        return .request(peer, request, identity: decoded.message.identity)
    }

    enum Answer {
        case done(String)
        case full(String)
        case failed(String)
    }

    /// Resends archived messages to the peer; or says a full message is needed.
    private func answer(
        _ request: ReplicationMessage.Request, peer: Configuration.PeerSettings, lastSequence: UInt64, options: PublishOptions,
        into report: inout PublishReport
    ) async -> Answer {
        guard case .resend(let range) = request else { return .full("asked for") }
        let upper = min(range.upperBound, lastSequence)
        guard range.lowerBound <= upper else { return .done("nothing to resend: the last message sent is \(lastSequence)") }
        guard upper - range.lowerBound < RequestIntake.maxResend else { return .full("more than \(RequestIntake.maxResend) messages asked for") }
        let items: [Outbox.Item]
        do {
            items = try outbox.items().filter { (range.lowerBound...upper).contains($0.sequence) }
        } catch {
            return .failed("outbox \(settings.outbox): \(error)")
        }
        guard UInt64(items.count) == upper - range.lowerBound + 1 else {
            return .full("messages \(range.lowerBound)-\(upper) are no longer all in the outbox")
        }
        let answer = upper == range.lowerBound ? "resent \(upper)" : "resent \(range.lowerBound)-\(upper)"
        guard !options.dryRun else { return .done(answer) }
        for item in items {
            do {
                try await transport.deliver(outbox.source(item), from: settings.from, to: peer.mailAddresses)
            } catch {
                report.exitStatus = max(report.exitStatus, error.kind == .temporary ? 69 : 1)
                return .failed("message \(item.sequence) could not be resent: \(error.reason)")
            }
        }
        logger.notice("resent \(range.lowerBound)-\(upper) to \(peer.id)")
        return .done(answer)
    }
}

/// The identities of the requests a publisher has answered, kept beside the outbox, so that a request
/// delivered again (replayed) in a later run is not answered again. The most recent 10,000 are kept.
struct AnsweredRequests {
    let path: String
    var answered: [String: Date]

    init(path: String) {
        self.path = path
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        answered = FileManager.default.contents(atPath: path).flatMap { try? decoder.decode([String: Date].self, from: $0) } ?? [:]
    }

    func save() throws {
        var kept = answered
        if kept.count > 10_000 {
            kept = Dictionary(uniqueKeysWithValues: kept.sorted { $0.value > $1.value }.prefix(10_000).map { ($0.key, $0.value) })
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        try SafeFile.write([UInt8](try encoder.encode(kept)), to: path, mode: 0o600)
    }
}
