import Addressing
import Coding
import Foundation
import Logging
import MIME
import MailDrop
import MessageFormat

/// Intake: the drop is listed and read; each message decoded, its signature verified against its
/// source's certificate, its sender and destination checked. What fails is a candidate with the
/// reason, quarantined by the run.
extension SyncEngine {

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
            let input: FetchedMessage
            // A large message comes as its file (a Maildir's own; the one IMAP received it into),
            // read from there at its turn: the run holds one message's records at a time.
            switch try await fetch(reference, from: drop) {
            case .some(.message(let message)):
                input = message
            case .some(.refused(let refusal)):
                candidates.append(Candidate(reference: reference, decoded: nil, refusal: refusal, received: arrival))
                continue
            case .none: continue
            }
            if let candidate = await examine(input, reference: reference, context: context, now: now, received: arrival, checkingRecords: false) {
                candidates.append(candidate)
            }
        }
        return candidates
    }

    enum Fetched {
        case message(FetchedMessage)
        case refused(String)
    }

    /// A message's bytes, or the file of a large one (a Maildir's own; the one IMAP received it
    /// into); or why it was not read (too large: it is refused unread, before a byte of it is
    /// fetched, as the listing gives its size); nil when it vanished meanwhile.
    func fetch(_ reference: MessageReference, from drop: any MailDrop) async throws(SyncError) -> Fetched? {
        let limit = configuration.mail?.maxMessageBytes ?? MIMELimits.default.maxMessageSize
        if let size = reference.size, size > UInt64(limit) {
            return .refused("the message is \(size) bytes, more than [mail] max_message_bytes = \(limit); it was not read")
        }
        if let size = reference.size, size >= UInt64(MessageDecoder.streamingSize), let path = drop.file(of: reference) {
            do {
                return .message(.file(try MessageFile(path: path)))
            } catch {
                // Gone meanwhile (another run settled it), or unreadable: as when its bytes are read.
                if !FileManager.default.fileExists(atPath: path) {
                    logger.notice("message vanished before it was read", metadata: ["message": "\(Text.printable(reference.id))"])
                    return nil
                }
                throw .mail(MailDropError(.unavailable, "\(path) cannot be read: \(error.reason)"))
            }
        }
        do {
            let message = try await drop.fetchMessage(reference)
            guard message.count <= limit else {
                return .refused("the message is \(message.count) bytes, more than [mail] max_message_bytes = \(limit)")
            }
            return .message(message)
        } catch {
            if error.kind == .vanished {
                logger.notice("message vanished before it was read", metadata: ["message": "\(Text.printable(reference.id))"])
                return nil
            }
            throw .mail(error)
        }
    }

    /// The message as a candidate of the run; nil for a request that `publish` answers (a site that
    /// publishes and receives may read one mailbox for both), which is left where it is.
    /// `checkingRecords: false`: a large message's LDIF is not parsed as it is verified, only when
    /// its records are read at its turn (which refuses it then, before anything of it is written, if
    /// they do not parse): a run parses it once, not twice.
    func examine(
        _ input: FetchedMessage, reference: MessageReference, context: Context, now: Date, received: Date? = nil, checkingRecords: Bool = true
    ) async -> Candidate? {
        let received = received ?? reference.received ?? now
        let decoded: DecodedMessage
        var streamed: StreamedMessage?
        do {
            switch input {
            case .bytes(let bytes):
                decoded = try await context.decoder.decode(bytes, at: now)
            case .file(let file):
                streamed = try await context.decoder.decode(file: file, at: now, checkingRecords: checkingRecords)
                decoded = streamed!.decoded
            }
        } catch .otherKind(let kind) where kind == ReplicationMessage.Kind.request.rawValue {
            if configuration.publish != nil { return nil }
            let reason =
                "a request for messages (Bridgehead-Kind: request) is answered by bridgehead publish; this configuration has no [publish] section"
            return Candidate(reference: reference, decoded: nil, refusal: reason, received: received)
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
        return Candidate(reference: reference, decoded: decoded, refusal: nil, received: received, streamed: streamed)
    }
}
