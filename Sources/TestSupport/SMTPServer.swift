import Foundation

/// A throwaway SMTP server on 127.0.0.1 (`scripts/smtp-sandbox`, aiosmtpd) that delivers what it
/// accepts into a Maildir of its own; stopped when the value goes away.
public final class SMTPServer: @unchecked Sendable {
    public let port: Int
    public let maildir: String
    private let process: Process
    private let folder: URL

    /// `fault`: none, rcpt-4xx, data-4xx, data-5xx, ehlo-421, drop-data, silent-after-data.
    /// `maildir`: where accepted messages go (default: a Maildir of its own).
    public init(
        tls: (certificate: String, key: String)? = nil, requireStartTLS: Bool = false, auth: String? = nil, fault: String = "none",
        maildir: String? = nil
    ) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-smtp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        self.maildir = maildir ?? folder.appendingPathComponent("Maildir").path
        var arguments = ["--maildir", self.maildir, "--fault", fault]
        if let tls { arguments += ["--tls", tls.certificate, tls.key] }
        if requireStartTLS { arguments.append("--require-starttls") }
        if let auth { arguments += ["--auth", auth] }
        process = Process()
        process.executableURL = URL(fileURLWithPath: Slapd.repositoryRoot.appendingPathComponent("scripts/smtp-sandbox").path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line is "PORT n".
        var line: [UInt8] = []
        let reader = output.fileHandleForReading
        let deadline = Date().addingTimeInterval(30)
        while !line.contains(0x0A), Date() < deadline {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw HarnessError(message: "smtp-sandbox did not start (is python3-aiosmtpd installed? scripts/setup installs it): '\(text)'")
        }
        self.port = port
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: folder)
    }

    /// The messages delivered so far, oldest first.
    public func delivered() throws -> [[UInt8]] {
        let new = maildir + "/new"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: new)) ?? []
        return try names.sorted().map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: new + "/" + $0))) }
    }
}
