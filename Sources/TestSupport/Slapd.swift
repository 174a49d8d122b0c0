import Foundation

/// A throwaway slapd for one test, started by `scripts/slapd-sandbox` on loopback in a temporary
/// directory and stopped (and the directory removed) when the value goes away or `stop()` is called.
public final class Slapd: @unchecked Sendable {
    public let directory: URL
    public let uri: String
    public let ldapiURI: String
    public let ldapsURI: String?
    public let suffix: String
    public let rootDN: String
    public let rootPassword: String
    public let passwordFile: String
    public let caFile: String?
    private let lock = NSLock()
    private var running = true

    public struct Options: Sendable {
        public var seeds: [String] = []
        public var suffix = "dc=example,dc=com"
        public var noSync = true
        public var tls = false
        public var overlays = false
        public init(seeds: [String] = [], suffix: String = "dc=example,dc=com", noSync: Bool = true, tls: Bool = false, overlays: Bool = false) {
            self.seeds = seeds
            self.suffix = suffix
            self.noSync = noSync
            self.tls = tls
            self.overlays = overlays
        }
    }

    /// The repository root, found from this file's location.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var sandboxScript: String { repositoryRoot.appendingPathComponent("scripts/slapd-sandbox").path }

    public init(_ options: Options = Options()) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-slapd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var arguments = ["start", directory.path, "--suffix", options.suffix]
        for seed in options.seeds { arguments += ["--seed", seed] }
        if options.noSync { arguments.append("--nosync") }
        if options.tls { arguments.append("--tls") }
        if options.overlays { arguments.append("--overlays") }
        let output = try Command.run(Self.sandboxScript, arguments)
        guard output.status == 0 else {
            try? FileManager.default.removeItem(at: directory)
            throw HarnessError(message: "slapd-sandbox start failed (\(output.status)): \(output.stderr)")
        }
        var values: [String: String] = [:]
        for line in output.stdout.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        self.directory = directory
        uri = values["SLAPD_URI"] ?? ""
        ldapiURI = values["SLAPD_LDAPI"] ?? ""
        ldapsURI = values["SLAPD_LDAPS_URI"].flatMap { $0.isEmpty ? nil : $0 }
        suffix = values["SLAPD_SUFFIX"] ?? options.suffix
        rootDN = values["SLAPD_ROOTDN"] ?? ""
        rootPassword = values["SLAPD_ROOTPW"] ?? ""
        passwordFile = values["SLAPD_PASSWORD_FILE"] ?? ""
        caFile = values["SLAPD_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    deinit { stop() }

    /// Stops slapd and removes its directory. Safe to call more than once.
    public func stop() {
        lock.lock()
        let wasRunning = running
        running = false
        lock.unlock()
        guard wasRunning else { return }
        _ = try? Command.run(Self.sandboxScript, ["stop", directory.path])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `ldapmodify` (the reference client) against this server as the root DN.
    public func ldapmodify(file: String, extra: [String] = []) throws -> Command.Output {
        try Command.run("ldapmodify", ["-x", "-H", uri, "-D", rootDN, "-y", passwordFile, "-f", file] + extra)
    }

    /// Every entry under the suffix, read with `ldapsearch` (not with our client), as raw LDIF.
    public func dump(attributes: [String] = []) throws -> String {
        let output = try Command.run(
            "ldapsearch", ["-x", "-H", uri, "-D", rootDN, "-y", passwordFile, "-b", suffix, "-LLL", "-o", "ldif-wrap=no"] + attributes)
        guard output.status == 0 else { throw HarnessError(message: "ldapsearch failed: \(output.stderr)") }
        return output.stdout
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Runs an external program and collects what it printed.
public enum Command {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var stdoutBytes: [UInt8]
    }

    public static func run(_ program: String, _ arguments: [String], input: [UInt8]? = nil, environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [program] + arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = (env["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        if let environment { env.merge(environment) { $1 } }
        process.environment = env
        let outPipe = Pipe()
        let errPipe = Pipe()
        let inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input)) }
        try? inPipe.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = errPipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), stdoutBytes: [UInt8](outData))
    }
}
