import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a message was not delivered, and what that means for it: it stays archived and undelivered
/// either way, and is delivered again next run.
public struct DeliveryError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Try again later (a 4xx, a server that cannot be reached, sendmail's EX_TEMPFAIL).
        case temporary
        /// Refused (a 5xx, a sendmail that failed): a person must look; retried next run all the same.
        case permanent
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }
}

/// How a published message leaves the site.
public protocol MessageTransport: Sendable {
    /// Delivers one whole message (headers and body, CRLF line ends) to every recipient. A message
    /// in a file is read a chunk at a time, never whole.
    func deliver(_ message: MessageSource, from: String, to: [String]) async throws(DeliveryError)
}

/// Into a Maildir (`deliver_maildir`): a data diode's spool, a file transfer, a peer on this host.
public struct MaildirTransport: MessageTransport {
    public let root: String

    public init(root: String) { self.root = root }

    public func deliver(_ message: MessageSource, from: String, to: [String]) async throws(DeliveryError) {
        do {
            let file = try MaildirWriter(root: root)
            let chunks = try message.chunks()
            while let chunk = try chunks.next() { try file.write(chunk) }
            try file.commit()
        } catch {
            throw DeliveryError(.temporary, "cannot deliver into \(root): \(error)")
        }
    }
}

/// Through a sendmail-compatible program: `PROGRAM -i -t` (recipients from the To header), the
/// message on its standard input. Exit 0 delivered, 75 (EX_TEMPFAIL) try again, anything else refused.
public struct SendmailTransport: MessageTransport {
    public let program: String

    public init(program: String) { self.program = program }

    public func deliver(_ message: MessageSource, from: String, to: [String]) async throws(DeliveryError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = ["-i", "-f", from, "-t"]
        let input = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-sendmail-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        do {
            process.standardError = try FileHandle(forWritingTo: errors)
            try process.run()
        } catch {
            throw DeliveryError(.permanent, "cannot run \(program): \(error.localizedDescription)")
        }
        // Unix line ends for a local program, as sendmail expects.
        let writer = input.fileHandleForWriting
        signal(SIGPIPE, SIG_IGN)
        var unread = false
        var pendingCR = false
        do {
            let chunks = try message.chunks()
            while let chunk = try chunks.next() {
                var unix: [UInt8] = []
                unix.reserveCapacity(chunk.count + 1)
                for byte in chunk {
                    if pendingCR, byte != 0x0A { unix.append(0x0D) }
                    pendingCR = byte == 0x0D
                    if !pendingCR { unix.append(byte) }
                }
                do {
                    try writer.write(contentsOf: unix)
                } catch {
                    // It stopped reading: its exit status says why.
                    unread = true
                    break
                }
            }
            if pendingCR, !unread { try? writer.write(contentsOf: [0x0D]) }
        } catch {
            try? writer.close()
            process.terminate()
            process.waitUntilExit()
            throw DeliveryError(.permanent, "cannot read the message: \(error)")
        }
        try? writer.close()
        process.waitUntilExit()
        let status = process.terminationStatus
        if status == 0, process.terminationReason == .exit {
            guard unread else { return }
            throw DeliveryError(.permanent, "\(program) exited 0 without reading the whole message")
        }
        let said = String(decoding: (FileManager.default.contents(atPath: errors.path) ?? Data()).prefix(500), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let reason = "\(program) exited \(status)" + (said.isEmpty ? "" : ": \(said)")
        throw DeliveryError(status == 75 && process.terminationReason == .exit ? .temporary : .permanent, reason)
    }
}
