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
    private let sandbox: Sandbox

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
        var arguments = ["--suffix", options.suffix]
        for seed in options.seeds { arguments += ["--seed", seed] }
        if options.noSync { arguments.append("--nosync") }
        if options.tls { arguments.append("--tls") }
        if options.overlays { arguments.append("--overlays") }
        let sandbox = try Sandbox(script: Self.sandboxScript, name: "slapd", arguments: arguments)
        self.sandbox = sandbox
        directory = sandbox.directory
        uri = sandbox["SLAPD_URI"] ?? ""
        ldapiURI = sandbox["SLAPD_LDAPI"] ?? ""
        ldapsURI = sandbox["SLAPD_LDAPS_URI"]
        suffix = sandbox["SLAPD_SUFFIX"] ?? options.suffix
        rootDN = sandbox["SLAPD_ROOTDN"] ?? ""
        rootPassword = sandbox["SLAPD_ROOTPW"] ?? ""
        passwordFile = sandbox["SLAPD_PASSWORD_FILE"] ?? ""
        caFile = sandbox["SLAPD_CA_FILE"]
    }

    /// Stops slapd and removes its directory. Safe to call more than once.
    public func stop() { sandbox.stop() }

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
