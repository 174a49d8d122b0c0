import Foundation
import LDAPClient
import LDAPModel
import LDIF
import MailDrop
import MessageFormat
import RunSupport

extension Publisher {
    /// A message archived but not yet recorded in the state (the run that archived it was killed
    /// before it advanced the state): the state is moved forward to it, since it will be delivered.
    func rollForward(_ state: PublisherState?, dryRun: Bool) async throws(PublishError) -> PublisherState? {
        let items: [Outbox.Item]
        do {
            items = try outbox.items()
        } catch {
            throw .inconsistent("outbox \(settings.outbox): \(error)")
        }
        guard let newest = items.last, newest.sequence > state?.sequence ?? 0 else { return state }
        let recorded: String?
        do {
            recorded = try outbox.position(of: newest)
        } catch {
            throw .inconsistent("outbox \(settings.outbox): \(error)")
        }
        guard let position = recorded else {
            throw .inconsistent(
                "\(newest.path) is message \(newest.sequence), beyond the state's \(state?.sequence ?? 0), and records no log position; "
                    + "move it out of the outbox if it is not this publisher's")
        }
        let next = PublisherState(sequence: newest.sequence, position: position, time: Date())
        logger.notice("message \(newest.sequence) was archived but not recorded (a run was stopped): recording it now")
        if !dryRun {
            do {
                try await store.advance(from: state, to: next)
            } catch {
                throw .ldap(error)
            }
        }
        return next
    }

    /// Numbers, signs, archives and records one message (in a dry run: only builds it). A batch with
    /// no records only moves the log position.
    func publish(
        _ batch: Batch, after state: PublisherState?, options: PublishOptions, into report: inout PublishReport
    ) async throws(PublishError)
        -> PublisherState?
    {
        let sequence = (state?.sequence ?? 0) + 1
        let next = PublisherState(sequence: batch.records.isEmpty ? sequence - 1 : sequence, position: batch.position, time: options.now)
        if batch.records.isEmpty {
            guard next.position != state?.position else { return state }
            if !options.dryRun {
                do {
                    try await store.advance(from: state, to: next)
                } catch {
                    throw .ldap(error)
                }
            }
            return next
        }
        let message = ReplicationMessage(source: settings.sourceID, sequence: sequence, kind: .delta, records: [])
        return try await write(message, position: batch.position, after: state, options: options, into: &report) { append throws(PublishError) in
            for record in batch.records { try append(record) }
        }
    }

    /// A `full` message of the published subtrees, streamed: each entry goes into the outbox file
    /// (in a dry run, nowhere) as its search page arrives, so memory does not grow with the directory.
    func publishFull(
        after state: PublisherState?, position: String, capture: ChangeCapture, options: PublishOptions, into report: inout PublishReport
    ) async throws(PublishError) -> PublisherState? {
        let message = ReplicationMessage(source: settings.sourceID, sequence: (state?.sequence ?? 0) + 1, kind: .full, records: [])
        return try await write(message, position: position, after: state, options: options, into: &report) { append throws(PublishError) in
            try await capture.forEachPublishedEntry { entry throws(PublishError) in try append(.content(entry)) }
        }
    }

    /// Builds, signs and (unless a dry run) archives and records one message whose records
    /// `produce` hands to `append` one at a time; the message is written as it is built, never held.
    private func write(
        _ message: ReplicationMessage, position: String, after state: PublisherState?, options: PublishOptions,
        into report: inout PublishReport, produce: ((LDIFRecord) throws(PublishError) -> Void) async throws(PublishError) -> Void
    ) async throws(PublishError) -> PublisherState? {
        let sequence = message.sequence
        guard sequence <= ReplicationMessage.maxSequence else { throw .inconsistent("the sequence would pass \(ReplicationMessage.maxSequence)") }
        var writer: MessageWriter
        var file: MaildirWriter?
        do {
            writer = try MessageWriter(
                message, from: settings.from, to: settings.to.joined(separator: ", "), signer: signer, date: options.now,
                extraHeaders: [(Outbox.positionHeader, position)])
        } catch {
            throw .inconsistent("cannot build message \(sequence): \(error)")
        }
        if !options.dryRun {
            do {
                file = try outbox.writer(for: sequence)
            } catch {
                throw .inconsistent("cannot archive message \(sequence) in \(settings.outbox): \(error)")
            }
        }
        var bytes = 0
        var changes: [String] = []
        let describe = options.details || options.dryRun
        func emit(_ piece: [UInt8]) throws(PublishError) {
            bytes += piece.count
            do {
                try file?.write(piece)
            } catch {
                throw .inconsistent("cannot archive message \(sequence) in \(settings.outbox): \(error)")
            }
        }
        try emit(writer.begin())
        options.ldifOutput?(Array("# \(settings.sourceID) sequence \(sequence) (\(message.kind.rawValue))\n".utf8) + LDIFWriter().header)
        try await produce { record throws(PublishError) in
            try emit(writer.append(record))
            if describe { changes.append(Self.describe(record)) }
            options.ldifOutput?(LDIFWriter().render(record))
        }
        do {
            try emit(try writer.finish())
        } catch let error as PublishError {
            throw error
        } catch {
            throw .inconsistent("cannot sign message \(sequence): \(error)")
        }
        var summary = PublishedMessage(sequence: sequence, kind: message.kind.rawValue, records: writer.records, bytes: bytes, position: position)
        if describe { summary.changes = changes }
        report.messages.append(summary)
        let next = PublisherState(sequence: sequence, position: position, time: options.now)
        guard let file else { return next }
        do {
            try outbox.archive(file)
        } catch {
            throw .inconsistent("cannot archive message \(sequence) in \(settings.outbox): \(error)")
        }
        do {
            try await store.advance(from: state, to: next)
        } catch {
            throw .ldap(error)
        }
        return next
    }

    /// Delivers every archived message not yet delivered, in sequence order; stops at the first that
    /// fails (later ones must not overtake it).
    func deliverPending(into report: inout PublishReport) async {
        let pending: [Outbox.Item]
        do {
            pending = try outbox.items().filter { !$0.delivered }
        } catch {
            report.undelivered.append(UndeliveredMessage(sequence: 0, reason: "outbox: \(error)", kind: DeliveryError.Kind.temporary.rawValue))
            report.exitStatus = max(report.exitStatus, 69)
            return
        }
        for item in pending where await !deliver(item, into: &report) { return }
    }

    /// Delivers one archived message and marks it delivered; false (and the report says why) when it
    /// could not be.
    func deliver(_ item: Outbox.Item, into report: inout PublishReport) async -> Bool {
        do {
            try await transport.deliver(outbox.source(item), from: settings.from, to: settings.to)
            try outbox.markDelivered(item)
            report.delivered.append(item.sequence)
            return true
        } catch {
            let failure = (error as? DeliveryError) ?? DeliveryError(.temporary, "\(error)")
            report.undelivered.append(UndeliveredMessage(sequence: item.sequence, reason: failure.reason, kind: failure.kind.rawValue))
            report.exitStatus = max(report.exitStatus, failure.kind == .temporary ? 69 : 1)
            logger.warning("message \(item.sequence) not delivered: \(failure.reason)")
            return false
        }
    }

    /// `--resend N-M`: the archived messages, byte for byte, delivered or not.
    func resend(_ range: ClosedRange<UInt64>, into report: inout PublishReport) async throws(PublishError) {
        let items: [Outbox.Item]
        do {
            items = try outbox.items().filter { range.contains($0.sequence) }
        } catch {
            throw .inconsistent("outbox \(settings.outbox): \(error)")
        }
        let missing = range.count <= 100_000 ? range.filter { sequence in !items.contains { $0.sequence == sequence } } : []
        if !missing.isEmpty {
            throw .inconsistent(
                "the outbox no longer holds message(s) \(missing.prefix(10).map(String.init).joined(separator: ", ")); "
                    + "publish --full sends everything instead")
        }
        for item in items {
            if report.dryRun {
                report.delivered.append(item.sequence)
            } else if await !deliver(item, into: &report) {
                return
            }
        }
    }

    /// One line for a record: "add DN", "modify DN: replace description, add mail", "modrdn DN → DN".
    static func describe(_ record: LDIFRecord) -> String {
        switch record {
        case .content(let entry): return "entry \(entry.dn)"
        case .change(let change):
            switch change.change {
            case .add: return "add \(change.dn)"
            case .delete: return "delete \(change.dn)"
            case .modify(let modifications):
                return "modify \(change.dn): " + modifications.map { "\($0.operation.rawValue) \($0.attribute)" }.joined(separator: ", ")
            case .modifyDN: return "modrdn \(change.dn) → \(change.renamedDN?.description ?? "?")"
            }
        }
    }

    /// What this site has sent: the state in the directory and what waits in the outbox.
    public func status() async throws(PublishError) -> PublisherStatus {
        let state: PublisherState?
        let items: [Outbox.Item]
        do {
            state = try await store.read()
        } catch {
            throw .ldap(error)
        }
        do {
            items = try outbox.items()
        } catch {
            throw .inconsistent("outbox \(settings.outbox): \(error)")
        }
        let waiting = items.filter { !$0.delivered }
        let since = waiting.first.flatMap { try? FileManager.default.attributesOfItem(atPath: $0.path)[.modificationDate] as? Date }
        return PublisherStatus(
            source: settings.sourceID, lastSequence: max(state?.sequence ?? 0, items.last?.sequence ?? 0), position: state?.position,
            lastPublished: state?.time, undelivered: waiting.map(\.sequence), undeliveredSince: since)
    }
}
