import ArgumentParser
import Config
import Foundation
import LDAPClient
import LDAPModel
import Logging
import MailDrop
import Publishing
import Replication
import RunSupport

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Send this site's directory changes to its peers as signed replication messages.",
        discussion: """
            Reads what changed in the published subtrees ([publish] subtrees) from slapd's accesslog \
            ([publish] accesslog_base; see docs/publishing.md for the slapd configuration), in the order \
            the writes were committed (entryCSN), and turns it into messages of format 1: LDIF change \
            records, at most max_changes records and about max_bytes each, numbered in sequence, signed \
            with sign_cert/sign_key. Operational and bridgehead* attributes are never sent. Each message \
            is archived in the outbox Maildir (new/ until delivered, cur/ after) before the publisher \
            state under [ldap] state_dn names its sequence, then delivered ([publish] transport: smtp, \
            maildir or sendmail). A run stopped at any point is finished by the next one: nothing is skipped, \
            no sequence is reused for other content, undelivered messages go first.

            The first run, --full, or a log purged past the last position sends a full message: every \
            entry of the subtrees, which the receiver makes its copy equal to.

            --dry-run prints the messages it would send and changes nothing: not the outbox, not the \
            state, no mail. A real run is silent when all went well, unless -v or --format is given.

            Exit status: 0 ok; 1 a delivery was refused (the message stays in the outbox and is tried \
            again next run); 69 LDAP or the transport unavailable; 75 another publish run holds the \
            lock, or a signal stopped it; 78 configuration.

            --watch stays running: it publishes every --interval seconds, and at once when a peer's \
            request arrives (with [[peer]] and [mail]). It holds the publish lock while it runs; a run \
            that fails is retried at the next turn; SIGTERM ends it cleanly (exit 0). See \
            examples/systemd/bridgehead-publish-watch.service.

            Examples (conf=/etc/bridgehead/bridgehead.toml):
              bridgehead publish --config $conf --dry-run
              bridgehead publish --config $conf                  # from cron
              bridgehead publish --config $conf --resend 17-23   # the archived messages again
            """
    )

    @OptionGroup var configFile: ConfigOption

    @Flag(help: "Show the messages a run would send; change nothing.")
    var dryRun = false

    @Flag(help: "Send a full message of the published subtrees, whatever the log holds.")
    var full = false

    @Option(help: ArgumentHelp("Deliver the archived messages N (or N to M) again, byte for byte.", valueName: "N[-M]"))
    var resend: String?

    @Option(help: "Build at most N messages in this run.")
    var maxMessages: Int?

    @Option(help: "Output: text, ldif (each message's records) or json.")
    var format: OutputFormat?

    @Flag(help: "Stay running: publish every --interval seconds, and when a peer's request arrives.")
    var watch = false

    @Option(help: "With --watch: seconds between runs (default 60).")
    var interval: Double = 60

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1") }
        if resend != nil, full { throw ValidationError("--resend and --full do not go together") }
        if let resend, Self.range(resend) == nil { throw ValidationError("--resend takes N or N-M (1 ≤ N ≤ M), like 17-23") }
        if watch, dryRun || full || resend != nil { throw ValidationError("--watch publishes; --dry-run, --full and --resend are one run") }
        if interval < 1 { throw ValidationError("--interval must be at least 1 second") }
    }

    static func range(_ text: String) -> ClosedRange<UInt64>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, let low = UInt64(parts[0]), low >= 1 else { return nil }
        let high = parts.count == 2 ? UInt64(parts[1]) : low
        guard let high, high >= low else { return nil }
        return low...high
    }

    func run() async throws {
        common.bootstrapLogging()
        let logger = Logger(label: "bridgehead.publish")
        let configuration = try configFile.load()
        guard let settings = configuration.publish else {
            printError("\(configFile.config): no [publish] section; see examples/publisher/publisher.toml")
            throw Exit.configuration
        }
        let lock = try Exit.lock(settings.lockFile, dryRun: dryRun)
        defer { lock?.release() }
        let stop = StopRequest.onSignals()
        if watch {
            try await watchLoop(configuration, logger: logger, stop: stop)
            return
        }
        try await once(configuration, settings: settings, logger: logger, stop: stop)
    }

    /// One run; throws the exit status when it is not 0.
    func once(_ configuration: Configuration, settings: PublishSettings, logger: Logger, stop: StopRequest) async throws {
        let (publisher, connection) = try await Self.open(configuration, logger: logger)
        var options = PublishOptions(dryRun: dryRun, full: full, resend: resend.flatMap(Self.range), maxMessages: maxMessages)
        options.details = dryRun || format != nil || common.verbose > 0
        if format == .ldif { options.ldifOutput = { FileHandleOutput.write($0, to: 1) } }
        options.stop = stop
        let result: Result<PublishReport, PublishError>
        do {
            result = .success(try await publisher.run(options))
        } catch {
            result = .failure(error)
        }
        await connection.close()
        await publisher.requests?.drop.close()
        let report: PublishReport
        switch result {
        case .success(let value): report = value
        case .failure(.ldap(let error)): throw Exit.report(error, refusal: Exit.unavailable)
        case .failure(.configuration(let reason)):
            printError(reason)
            throw Exit.configuration
        case .failure(let error):
            printError("\(error)")
            throw Exit.dataError
        }
        if options.details {
            switch format ?? .text {
            case .json: try FileHandleOutput.writeJSON(report)
            case .ldif: break  // written as each message was built
            case .text: FileHandleOutput.write(Self.text(report), to: 1)
            }
        }
        if !dryRun, let path = settings.metricsFile {
            do {
                try MetricsFile(path: path).write(report.metrics)
            } catch {
                printError("cannot write metrics to \(path): \(error)")
            }
        }
        for problem in report.problems { printError(problem) }
        for item in report.undelivered { printError("message \(item.sequence) not delivered (\(item.kind)): \(item.reason)") }
        if stop.isRequested { throw Exit.tempFail }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }

    /// `--watch`: run, wait (--interval, or a request arriving), run… A failed run is retried at the
    /// next turn; a configuration error ends it (78); SIGTERM ends it (0).
    func watchLoop(_ configuration: Configuration, logger: Logger, stop: StopRequest) async throws {
        guard let settings = configuration.publish else { throw Exit.configuration }
        let stopped: @Sendable () -> Bool = { stop.isRequested }
        var watcher: (any DropWatcher)?
        if !configuration.peers.isEmpty {
            watcher = try? configuration.makeWatcher()
            try? await watcher?.open()
        }
        logger.notice("publishing every \(Int(interval)) s\(watcher == nil ? "" : ", and when a request arrives")")
        while !stop.isRequested {
            do {
                try await once(configuration, settings: settings, logger: logger, stop: stop)
            } catch let exit as ExitCode where exit == Exit.configuration {
                throw exit
            } catch {
                // Reported by the run itself; the next turn tries again.
            }
            guard !stop.isRequested else { break }
            if let current = watcher {
                do {
                    _ = try await current.wait(upTo: interval, stop: stopped)
                    continue
                } catch {
                    logger.warning("cannot watch for requests (\(error)); publishing every \(Int(interval)) s only")
                    await current.close()
                    watcher = nil
                }
            }
            await stop.pause(interval)
        }
        await watcher?.close()
        logger.notice("stopped")
    }

    /// The publisher a configuration describes, connected; a configuration problem exits 78.
    static func open(_ configuration: Configuration, logger: Logger) async throws -> (Publisher, LDAPConnection) {
        guard let settings = configuration.publish, let signer = configuration.signer else {
            printError("\(configuration.path): no [publish] section; see examples/publisher/publisher.toml")
            throw Exit.configuration
        }
        guard let stateText = configuration.ldap.stateDN, let stateDN = DN(stateText) else {
            printError(
                "\(configuration.path): ldap.state_dn: missing; the publisher keeps its state there (e.g. \"ou=bridgehead,dc=example,dc=com\")")
            throw Exit.configuration
        }
        let transport: any MessageTransport
        do {
            transport = try configuration.makeTransport()
        } catch {
            printError("\(error)")
            throw Exit.configuration
        }
        var intake: RequestIntake?
        if !configuration.peers.isEmpty {
            guard let mail = configuration.mail else {
                printError("\(configuration.path): [[peer]] needs a [mail] section: the mailbox the peers' requests arrive in")
                throw Exit.configuration
            }
            do {
                intake = RequestIntake(
                    drop: try configuration.makeDrop(), peers: configuration.peers, verifiers: configuration.peerVerifiers,
                    othersBelongToSync: !configuration.sources.isEmpty, maxMessageBytes: mail.maxMessageBytes)
            } catch {
                printError("\(error)")
                throw Exit.configuration
            }
        }
        let connection = try await Exit.connect(configuration, logger: logger)
        var publisher = Publisher(
            settings: settings, stateDN: stateDN, connection: connection, signer: signer, transport: transport, logger: logger)
        publisher.requests = intake
        return (publisher, connection)
    }

    static func text(_ report: PublishReport) -> String {
        var out = report.dryRun ? "dry run: nothing is written, archived or sent\n" : ""
        for request in report.requests {
            if let refused = request.refused {
                out += "request \(request.id): quarantined, not answered: \(refused)\n"
            } else {
                out +=
                    "request from \(request.peer ?? "?") for \(request.request ?? "?"): \(report.dryRun ? "would answer with " : "")\(request.answer ?? "")\n"
            }
        }
        if report.messages.isEmpty { out += "\(report.source): nothing new to publish (log position \(report.from ?? "none"))\n" }
        for message in report.messages {
            out += "\(report.source) #\(message.sequence) (\(message.kind)): \(message.records) record(s), \(message.bytes) bytes"
            out += report.dryRun ? " would be sent\n" : "\n"
            for change in message.changes ?? [] { out += "  \(change)\n" }
        }
        if !report.delivered.isEmpty { out += "delivered: " + report.delivered.map { "#\($0)" }.joined(separator: ", ") + "\n" }
        return out
    }
}
