import ArgumentParser
import Config
import Foundation
import Logging
import Publishing
import Replication
import RunSupport

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each source's replication state, what waits in the drop, and the last run.",
        discussion: """
            Per source: the last sequence applied (with its Message-ID and time, as recorded in the \
            directory under [ldap] state_dn), how many messages in the drop are ready for the next run, \
            how many are held behind a gap and which sequence they wait for, and how many are in the \
            quarantine folder. Then the last real run (from [agent] status_file). With a [publish] \
            section, also what this site has sent: the last sequence, the accesslog position it \
            reaches, and the messages in the outbox not yet delivered. Changes nothing.

            Example:
              bridgehead status --config /etc/bridgehead/bridgehead.toml --format json
            """
    )

    @OptionGroup var configFile: ConfigOption

    @OptionGroup var output: TextOrJSONOption

    @OptionGroup var common: CommonOptions

    func run() async throws {
        common.bootstrapLogging()
        let configuration = try configFile.load()
        let now = Date()
        var status = StatusReport()
        let receiving = configuration.mail != nil || configuration.publish == nil
        if receiving {
            status = try await Session.with(configuration, logger: Logger(label: "bridgehead.status"), readOnly: true) {
                engine async throws(SyncError) in
                try await engine.status(now: now)
            }
        }
        if configuration.publish != nil {
            let (publisher, connection) = try await PublishCommand.open(configuration, logger: Logger(label: "bridgehead.status"))
            let result: Result<PublisherStatus, PublishError>
            do {
                result = .success(try await publisher.status())
            } catch {
                result = .failure(error)
            }
            await connection.close()
            switch result {
            case .success(let value): status.publisher = value
            case .failure(.ldap(let error)): throw Exit.report(error, refusal: Exit.unavailable)
            case .failure(let error):
                printError("\(error)")
                throw Exit.dataError
            }
        }
        if output.format == .json {
            try FileHandleOutput.writeJSON(status)
            return
        }
        var out = "bridgehead \(status.version)\n" + Self.text(status.publisher, now: now)
        guard receiving else {
            FileHandleOutput.write(out, to: 1)
            return
        }
        for source in status.sources {
            out += "\(source.source): "
            if let sequence = source.lastSequence, sequence > 0 {
                out += "last applied #\(sequence)"
                if let applied = source.lastApplied { out += " at \(ISO8601DateFormatter().string(from: applied))" }
                if let id = source.lastMessageID, SourceClaim(token: id) == nil { out += " (\(ReportText.safe(id)))" }
            } else {
                out += "nothing applied yet"
            }
            if let claim = source.lastMessageID.flatMap(SourceClaim.init(token:)) {
                out += "; #\(claim.sequence) being applied by \(claim.holder) since \(ISO8601DateFormatter().string(from: claim.time))"
                out += " (or that agent stopped midway: the next run takes it over)"
            }
            out += "\n  in the drop: \(source.ready) ready"
            if source.held > 0 {
                out += ", \(source.held) held waiting for #\(source.waitingFor ?? 0)"
                if let since = source.waitingSince { out += " for \(ReportText.age(since: since, now: now))" }
            }
            out += "; quarantined: \(source.quarantined)\n"
            if let request = source.lastRequest, let sent = source.lastRequestSent {
                out += "  last request to the source: \(request), sent \(ISO8601DateFormatter().string(from: sent))\n"
            }
        }
        if status.quarantinedUnattributed > 0 {
            out += "quarantined without a known source: \(status.quarantinedUnattributed) (see: bridgehead quarantine list)\n"
        }
        if let run = status.lastRun {
            out +=
                "last run: \(ISO8601DateFormatter().string(from: run.finished)), exit \(run.exitStatus): \(run.applied) applied, "
                + "\(run.duplicates) duplicates, \(run.held) held, \(run.quarantined) quarantined, \(run.changes) changes"
            if let success = run.lastSuccess, success != run.finished { out += "; last success \(ISO8601DateFormatter().string(from: success))" }
            out += "\n"
        } else {
            out += "last run: none recorded in \(configuration.agent.statusFile)\n"
        }
        FileHandleOutput.write(out, to: 1)
    }

    /// The publisher's lines.
    static func text(_ publisher: PublisherStatus?, now: Date) -> String {
        guard let publisher else { return "" }
        var out = "publishing as \(publisher.source): "
        if publisher.lastSequence > 0 {
            out += "last sent #\(publisher.lastSequence)"
            if let time = publisher.lastPublished { out += " at \(ISO8601DateFormatter().string(from: time))" }
        } else {
            out += "nothing sent yet"
        }
        out += publisher.position.map { "; accesslog position \($0)" } ?? "; no accesslog position yet (the next run sends a full message)"
        if publisher.undelivered.isEmpty {
            out += "\n  outbox: everything delivered\n"
        } else {
            out +=
                "\n  outbox: \(publisher.undelivered.count) not delivered ("
                + publisher.undelivered.prefix(10).map { "#\($0)" }.joined(separator: ", ")
                + (publisher.undelivered.count > 10 ? ", …" : "") + ")"
            if let since = publisher.undeliveredSince { out += ", the oldest for \(ReportText.age(since: since, now: now))" }
            out += "\n"
        }
        return out
    }
}

struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List quarantined messages with their reasons, or release one for another try.",
        subcommands: [List.self, Release.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the quarantine folder, each message with the reason it is refused now.",
            discussion: """
                The reason is recomputed from the message and the directory as they are now, so it \
                also tells when a message has become valid (a missing certificate configured, a \
                referenced entry created): release it then.
                """
        )

        @OptionGroup var configFile: ConfigOption

        @OptionGroup var output: TextOrJSONOption

        @OptionGroup var common: CommonOptions

        func run() async throws {
            common.bootstrapLogging()
            let configuration = try configFile.load()
            let messages = try await Session.with(configuration, logger: Logger(label: "bridgehead.quarantine")) { engine async throws(SyncError) in
                try await engine.quarantined()
            }
            if output.format == .json {
                try FileHandleOutput.writeJSON(messages)
                return
            }
            var out = ""
            for message in messages {
                let whose =
                    message.source.map { "\($0) #\(message.sequence ?? 0)" }
                    ?? message.claims.map { "claims to be \(ReportText.safe($0)), not verified" }
                out += ReportText.safe(message.id) + "  " + (whose ?? "(no known source)") + "\n"
                if let subject = message.subject { out += "  subject: \(ReportText.safe(subject))\n" }
                if let from = message.from { out += "  from: \(ReportText.safe(from))\n" }
                out += "  reason: \(ReportText.safe(message.reason))\n"
            }
            out +=
                messages.isEmpty
                ? "The quarantine folder is empty.\n"
                : "\(messages.count) quarantined; release one with: bridgehead quarantine release ID --config \(configFile.config)\n"
            FileHandleOutput.write(out, to: 1)
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a quarantined message back into the drop; the next sync takes it again.")

        @Argument(help: "The message's id, as `bridgehead quarantine list` shows it.")
        var id: String

        @OptionGroup var configFile: ConfigOption

        @OptionGroup var common: CommonOptions

        func run() async throws {
            common.bootstrapLogging()
            let configuration = try configFile.load()
            let released = try await Session.with(configuration, logger: Logger(label: "bridgehead.quarantine")) { engine async throws(SyncError) in
                try await engine.release(id)
            }
            guard released != nil else {
                printError("no message \(id) in the quarantine folder (see: bridgehead quarantine list)")
                throw Exit.dataError
            }
            if common.verbose > 0 { FileHandleOutput.write("released \(id)\n", to: 1) }
        }
    }
}
