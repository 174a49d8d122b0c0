import ArgumentParser
import Config
import Foundation
import LDAPClient
import LDAPModel
import LDIF
import Logging
import MailDrop
import Replication
import RunSupport

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Apply the replication messages waiting in the drop (or, with --dry-run, show what that would change).",
        discussion: """
            Every message in the drop ([mail] maildir or imap_url) is decoded and its S/MIME signature \
            checked against the certificate of the source it names; the sender must be one of that \
            source's addresses. Per source, messages apply in sequence order: a sequence already applied \
            is a duplicate (moved to Processed, nothing applied), one beyond a gap waits in the drop until \
            the gap is filled. Each message is planned against the live directory (its DNs mapped by \
            the naming rules, addresses in DN-valued attributes resolved, only effective changes kept), \
            checked against the source's policy (subtrees, ownership, attributes, delete thresholds), and \
            applied: each operation alone and idempotent, the source's state advanced last (or, with \
            [agent] transactions = true on a server where they are safe, in one LDAP transaction with \
            the state); whatever cannot be applied at once is checked by the server (No-Op) first, so \
            that a message is applied whole or not at all. Messages that cannot be \
            applied go to the Quarantine folder with their reason (see: bridgehead quarantine list).

            --dry-run prints the same plan and writes nothing anywhere: not the directory, not the drop, \
            not the state. A real run is silent when all went well, unless -v or --format is given.

            SIGTERM or SIGINT ends the run after the step it is in (a transaction, or a few operations \
            sent alone): the message being applied stays in the drop, nothing is settled half-way, \
            and the next run plans it again against the directory as it is.

            Exit status: 0 ok; 1 some message was quarantined, waits for an operator to allow its \
            deletes, or has waited behind a gap longer than [agent] gap_timeout_hours; 69 LDAP or \
            mail server unavailable or failing (nothing is lost: the next run starts again from the \
            directory as it is); 75 another run holds the lock, or the run was stopped by a signal; \
            78 configuration.

            --watch stays running instead of leaving after one run: it runs, then waits for new mail \
            (inotify on a Maildir, IMAP IDLE on a mailbox) and runs again as soon as a message arrives, \
            and at least every --scan-interval seconds. It holds the lock while it runs (a cron run \
            meanwhile exits 75: use one or the other); a run that fails (a server down) is retried at \
            the next wake; SIGTERM ends it cleanly (exit 0) after the step it is in. See \
            examples/systemd/bridgehead-sync-watch.service.

            Examples (conf=/etc/bridgehead/bridgehead.toml):
              bridgehead sync --config $conf --dry-run
              bridgehead sync --config $conf --dry-run --format ldif > preview.ldif
              bridgehead sync --config $conf                        # from cron
              bridgehead sync --config $conf --allow-deletes site-a:42
              bridgehead sync --config $conf --watch                # from systemd
            """
    )

    @OptionGroup var configFile: ConfigOption

    @Flag(help: "Show what a run would change; change nothing.")
    var dryRun = false

    @Flag(name: .customLong("validate"), help: "With --dry-run: have the server check each planned operation (No-Op control) without applying it.")
    var serverCheck = false

    @Option(help: "Output: text, ldif (ldapmodify-ready change records) or json.")
    var format: OutputFormat?

    @Option(help: "Apply at most N messages in this run.")
    var maxMessages: Int?

    @Option(help: "Allow the message SOURCE:SEQUENCE past the delete thresholds (repeatable).")
    var allowDeletes: [String] = []

    @Option(help: "Write Prometheus metrics to this file after the run (overrides [agent] metrics_file).")
    var metricsFile: String?

    @Flag(help: "Stay running: run whenever new mail arrives (inotify, IMAP IDLE) and every --scan-interval seconds.")
    var watch = false

    @Option(help: "With --watch: seconds between runs when no mail arrives (default 300).")
    var scanInterval: Double = 300

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if serverCheck, !dryRun { throw ValidationError("--validate only applies to --dry-run") }
        if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1") }
        if watch, dryRun { throw ValidationError("--watch applies messages; a dry run is one run") }
        if scanInterval < 1 { throw ValidationError("--scan-interval must be at least 1 second") }
        for item in allowDeletes where item.split(separator: ":").count != 2 || UInt64(item.split(separator: ":").last ?? "") == nil {
            throw ValidationError("--allow-deletes takes SOURCE:SEQUENCE, like site-a:42")
        }
    }

    func run() async throws {
        common.bootstrapLogging()
        let logger = Logger(label: "bridgehead.sync")
        let configuration = try configFile.load()
        let lock = try Exit.lock(configuration.agent.lockFile, dryRun: dryRun)
        defer { lock?.release() }
        // SIGTERM (systemctl stop, a cron timeout) and SIGINT end the run between two steps: exit 75.
        let stop = StopRequest.onSignals()
        // A large message waits for its turn as an open file: room for many (the soft limit is often 1,024).
        var files = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) == 0, files.rlim_cur < min(files.rlim_max, 65_536) {
            files.rlim_cur = min(files.rlim_max, 65_536)
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files)
        }
        if watch {
            try await watchLoop(configuration, logger: logger, stop: stop)
            return
        }
        try await once(configuration, logger: logger, stop: stop)
    }

    /// One run: apply (or foretell), record, report; throws the exit status when it is not 0.
    func once(_ configuration: Configuration, logger: Logger, stop: StopRequest) async throws {
        // A quiet cron run shows nothing: it need not describe every change it makes.
        let show = dryRun || format != nil || common.verbose > 0
        let report = try await Session.with(configuration, logger: logger, readOnly: dryRun) { engine async throws(SyncError) in
            var options = SyncOptions(dryRun: dryRun, validate: serverCheck, maxMessages: maxMessages, allowDeletes: Set(allowDeletes))
            options.details = show
            options.stop = stop
            return try await engine.run(options)
        }
        if !dryRun {
            for problem in report.record(statusFile: configuration.agent.statusFile, metricsPath: metricsFile ?? configuration.agent.metricsFile) {
                printError(problem)
            }
        }
        if show {
            switch format ?? .text {
            case .text: FileHandleOutput.write(ReportText.render(report, colour: ReportText.useColour), to: 1)
            case .json: try FileHandleOutput.writeJSON(report)
            case .ldif: FileHandleOutput.write(ReportText.ldif(report), to: 1)
            }
        } else if report.exitStatus != 0 {
            // Cron mails what a run prints: say only what needs a person.
            FileHandleOutput.write(ReportText.problems(report), to: 2)
        }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }

    /// `--watch`: the watcher is opened first (what arrives during a run wakes the next one), then
    /// run, wait, run… A failed run is retried at the next wake; a watcher that fails is opened again
    /// (after a pause); a configuration error ends it (78); SIGTERM ends it (0).
    func watchLoop(_ configuration: Configuration, logger: Logger, stop: StopRequest) async throws {
        var watcher: (any DropWatcher)?
        let stopped: @Sendable () -> Bool = { stop.isRequested }
        logger.notice("watching the drop; a run on each new message, and every \(Int(scanInterval)) s")
        while !stop.isRequested {
            if watcher == nil {
                let made: any DropWatcher
                do {
                    made = try configuration.makeWatcher()
                } catch {
                    printError("\(error)")
                    throw Exit.configuration
                }
                do {
                    try await made.open()
                    watcher = made
                } catch let error where error.kind == .configuration {
                    printError("mail drop: \(error)")
                    throw Exit.configuration
                } catch {
                    // The run below says what is wrong with the drop; the loop opens the watcher again.
                    logger.warning("cannot watch the drop yet: \(error)")
                }
            }
            do {
                try await once(configuration, logger: logger, stop: stop)
            } catch let exit as ExitCode where exit == Exit.configuration {
                throw exit
            } catch {
                // Reported by the run itself; the next wake tries again.
            }
            guard !stop.isRequested else { break }
            guard let current = watcher else {
                await stop.pause(10)
                continue
            }
            do {
                _ = try await current.wait(upTo: scanInterval, stop: stopped)
            } catch let error where error.kind == .configuration {
                printError("mail drop: \(error)")
                throw Exit.configuration
            } catch {
                logger.warning("cannot watch the drop (\(error)); trying again in 10 s")
                await current.close()
                watcher = nil
                await stop.pause(10)
            }
        }
        await watcher?.close()
        logger.notice("stopped")
    }
}
