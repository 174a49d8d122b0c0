import ArgumentParser
import Config
import Foundation
import LDAPClient
import Logging
import Replication
import RunSupport

@main
struct Bridgehead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridgehead",
        abstract: "Keeps an OpenLDAP directory in step with sites whose changes arrive by mail.",
        discussion: """
            Exit codes follow sysexits(3): 0 ok, 1 a message needs a person (sync), 64 usage, 65 bad \
            input, 69 LDAP or mail server unavailable, 75 another run holds the lock, 78 \
            configuration error.

            Start with: bridgehead help sync
            """,
        version: BridgeheadVersion.current,
        subcommands: [
            SyncCommand.self, StatusCommand.self, QuarantineCommand.self, LDIFCommand.self, ApplyCommand.self, DecodeCommand.self,
            PublishCommand.self, CheckCommand.self, ComposeCommand.self, AddressCommand.self, ResolveCommand.self,
        ]
    )
}

/// sysexits(3) codes, the contract with cron and scripts.
enum Exit {
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let unavailable = ExitCode(69)
    static let tempFail = ExitCode(75)
    static let configuration = ExitCode(78)

    /// Reads the configuration, or says what is wrong with it and exits 78.
    static func loadConfiguration(_ path: String) throws -> Configuration {
        do {
            let configuration = try Configuration.load(path: path)
            for warning in configuration.warnings { printError("warning: \(warning)") }
            return configuration
        } catch {
            printError("\(error)")
            throw configuration
        }
    }

    /// Takes a run's lock (nil for a dry run, which writes nothing, not even the lock file): another
    /// run holding it exits 75, a lock file that cannot be used 78.
    static func lock(_ path: String, dryRun: Bool) throws -> RunLock? {
        guard !dryRun else { return nil }
        do {
            return try RunLock(path: path)
        } catch {
            printError("\(error)")
            if case .held = error { throw tempFail }
            throw configuration
        }
    }

    /// Connects and binds as the configuration says. A configuration problem exits 78, a server that
    /// cannot be reached 69, a refused bind 78.
    static func connect(_ settings: Configuration, logger: Logger) async throws -> LDAPConnection {
        do {
            return try await LDAPConnection.connect(settings.connectionOptions, credentials: try settings.credentials(), logger: logger)
        } catch let error as ConfigurationError {
            printError("\(error)")
            throw configuration
        } catch let error as LDAPError {
            throw report(error, refusal: configuration)
        }
    }

    /// Prints an LDAP failure and chooses the exit code: 69 when the server could not be reached
    /// (cron will try again), `refusal` when it answered no.
    static func report(_ error: LDAPError, refusal: ExitCode) -> ExitCode {
        printError("\(error)")
        return error.isTransportFailure ? unavailable : refusal
    }
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log what is being done (repeat for debug detail).")
    var verbose: Int

    func bootstrapLogging() {
        let level: Logger.Level = verbose >= 2 ? .debug : verbose == 1 ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// The configuration file, for every command that reads one.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (TOML).", valueName: "file"))
    var config: String

    /// The configuration, checked; a clear error and exit 78 when it is not usable.
    func load() throws -> Configuration { try Exit.loadConfiguration(config) }
}

/// Diagnostics go to standard error.
func printError(_ message: String) {
    var stderr = StandardError()
    print("bridgehead: \(message)", to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleOutput.write(string, to: 2)
    }
}

/// `--format`, one type for every command: text for people, json for scripts (a stable shape), ldif
/// (decode and sync only) for ldapmodify.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, ldif

}

/// `--format text|json`, for a command that has no LDIF to show (`--format ldif` is refused).
struct TextOrJSONOption: ParsableArguments {
    @Option(help: "Output: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        if format == .ldif { throw ValidationError("--format ldif is for decode, sync and publish; use text or json") }
    }
}

/// Writes bytes to a file descriptor, all of them.
enum FileHandleOutput {
    static func write(_ string: String, to descriptor: Int32) {
        write(Array(string.utf8), to: descriptor)
    }

    /// `--format json` output: pretty, keys sorted (a stable shape for scripts), on standard output.
    static func writeJSON(_ value: some Encodable) throws {
        write(try json(value) + [0x0A], to: 1)
    }

    /// The JSON `writeJSON` writes.
    static func json(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(value))
    }

    static func write(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
