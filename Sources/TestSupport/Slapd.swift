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
    /// With `limitedUser`: a DN that may write everything but is not the rootdn (size limit 500).
    public let agentDN: String?
    public let agentPasswordFile: String?
    private let sandbox: Sandbox

    public struct Options: Sendable {
        public var seeds: [String] = []
        public var suffix = "dc=example,dc=com"
        public var noSync = true
        public var tls = false
        public var overlays = false
        public var limitedUser = false
        /// With `overlays`: slapo-accesslog's `logpurge AGE PERIOD` (e.g. "00:00:02 00:00:02").
        public var logPurge: String?
        /// Load the project's schema/ (false: a server that was never given it).
        public var projectSchema = true
        public init(
            seeds: [String] = [], suffix: String = "dc=example,dc=com", noSync: Bool = true, tls: Bool = false, overlays: Bool = false,
            limitedUser: Bool = false
        ) {
            self.seeds = seeds
            self.suffix = suffix
            self.noSync = noSync
            self.tls = tls
            self.overlays = overlays
            self.limitedUser = limitedUser
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
        if options.limitedUser { arguments.append("--limited-user") }
        if !options.projectSchema { arguments.append("--without-project-schema") }
        if let purge = options.logPurge { arguments += ["--logpurge", purge] }
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
        agentDN = sandbox["SLAPD_AGENT_DN"]
        agentPasswordFile = sandbox["SLAPD_AGENT_PASSWORD_FILE"]
    }

    /// A slapd seeded with LDIF content records given as text.
    public convenience init(seedLDIF: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-seed-\(UUID().uuidString).ldif")
        try Data(seedLDIF.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try self.init(Options(seeds: [file.path]))
    }

    /// Recipients in several address forms, for resolution tests: John Doe (mail, legacyExchangeDN,
    /// SMTP/X500/X400 proxies), two entries sharing one mail (ambiguous), a group outside ou=people.
    public static let recipients = """
        dn: ou=people,dc=example,dc=com
        objectClass: organizationalUnit
        ou: people

        dn: ou=groups,dc=example,dc=com
        objectClass: organizationalUnit
        ou: groups

        dn: cn=John Doe,ou=people,dc=example,dc=com
        objectClass: inetOrgPerson
        objectClass: bridgeheadMailRecipient
        cn: John Doe
        sn: Doe
        mail: jdoe@site-b.example.com
        legacyExchangeDN: /o=Org/ou=SiteB/cn=Recipients/cn=jdoe
        proxyAddresses: SMTP:john.doe@site-b.example.com
        proxyAddresses: X500:/o=Org/ou=OldSite/cn=Recipients/cn=jdoe
        proxyAddresses: X400:c=US;a= ;p=Org;o=SiteB;s=Doe;g=John;

        dn: cn=Ann Twin,ou=people,dc=example,dc=com
        objectClass: inetOrgPerson
        cn: Ann Twin
        sn: Twin
        mail: twins@site-b.example.com

        dn: cn=Bob Twin,ou=people,dc=example,dc=com
        objectClass: inetOrgPerson
        cn: Bob Twin
        sn: Twin
        mail: twins@site-b.example.com

        dn: cn=admins,ou=groups,dc=example,dc=com
        objectClass: groupOfNames
        objectClass: bridgeheadMailRecipient
        cn: admins
        member: cn=John Doe,ou=people,dc=example,dc=com
        mail: admins@site-b.example.com

        """

    /// Stops slapd and removes its directory. Safe to call more than once.
    public func stop() { sandbox.stop() }

    /// slapd's process id, as it was when the server last started.
    public var pid: Int32? {
        let text = (try? String(contentsOf: directory.appendingPathComponent("slapd.pid"), encoding: .utf8)) ?? ""
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Whether the server is still alive. A test that ends with a dead slapd has found a defect: the
    /// agent must never crash the server it serves.
    public var isRunning: Bool {
        guard let pid, kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/stat"), encoding: .utf8)) ?? ""
        // A zombie ("Z") has exited; its parent has not reaped it yet.
        return stat.split(separator: " ").dropFirst(2).first != "Z"
    }

    /// Stops the server and keeps its database: an outage, for a test. `resume()` ends it.
    public func halt() throws {
        let output = try sandbox.run("halt")
        guard output.status == 0 else { throw HarnessError(message: "slapd-sandbox halt: \(output.stderr)") }
    }

    /// Starts the server again after `halt()`, on the same database and addresses.
    public func resume() throws {
        let output = try sandbox.run("resume")
        guard output.status == 0 else { throw HarnessError(message: "slapd-sandbox resume: \(output.stderr)") }
    }

    /// Restarts the server with its main database read-only (`readonly on`: writes are answered
    /// unwillingToPerform, "operation restricted"), or writable again.
    public func setReadOnly(_ readOnly: Bool) throws {
        try halt()
        let file = directory.appendingPathComponent("slapd.conf")
        var text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "\nreadonly on\n", with: "\n")
        if readOnly { text += "readonly on\n" }
        try Data(text.utf8).write(to: file)
        try resume()
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
        // Write the input, and read both pipes, concurrently, so that none fills up and blocks the
        // child (a large input answered line by line would); on threads of their own, not dispatch's
        // pool, which Swift concurrency shares.
        let writer = inPipe.fileHandleForWriting
        signal(SIGPIPE, SIG_IGN)  // a child that stops reading early is an EPIPE here, not the end of the tests
        Thread {
            if let input { try? writer.write(contentsOf: input) }
            try? writer.close()
        }.start()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var errData = Data()
        Thread {
            errData = errPipe.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }.start()
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), stdoutBytes: [UInt8](outData))
    }
}
