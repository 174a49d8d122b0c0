import Coding
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how to reach an IMAP mailbox.
public struct IMAPSettings: Sendable, Hashable {
    public enum Security: Sendable, Hashable {
        /// imaps://: TLS from the first byte.
        case implicitTLS
        /// imap:// upgraded with STARTTLS before logging in.
        case startTLS
        /// imap:// in the clear; only when the configuration says so explicitly.
        case none
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var mailbox: String
    public var user: String
    public var password: String
    /// PEM file of the CA certificates that may sign the server's certificate (default: the system's).
    public var caFile: String?
    /// Verify the server certificate and host name. On unless turned off for tests.
    public var verifyCertificate: Bool
    /// Seconds to wait for a connection and for each command's answer.
    public var timeout: Double
    /// Largest message accepted from the server.
    public var maxMessageSize: Int
    /// Messages fetched per UID FETCH.
    public var fetchBatch: Int
    /// Use COPY + STORE \Deleted + UID EXPUNGE even when the server offers MOVE (RFC 6851).
    public var ignoreMove: Bool
    /// Open the mailbox with EXAMINE: nothing in it changes, not even \Recent (dry runs, status).
    public var readOnly = false

    public init(
        host: String, port: Int, security: Security, mailbox: String = "INBOX", user: String, password: String, caFile: String? = nil,
        verifyCertificate: Bool = true, timeout: Double = 60, maxMessageSize: Int = 256 << 20, fetchBatch: Int = 20, ignoreMove: Bool = false
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.mailbox = mailbox
        self.user = user
        self.password = password
        self.caFile = caFile
        self.verifyCertificate = verifyCertificate
        self.timeout = timeout
        self.maxMessageSize = maxMessageSize
        self.fetchBatch = fetchBatch
        self.ignoreMove = ignoreMove
    }

    /// From `imaps://host[:port]/MAILBOX` or `imap://…`; plain imap:// upgrades with STARTTLS unless
    /// `allowPlaintext` (then it stays in the clear).
    public init(url: String, user: String, password: String, caFile: String? = nil, allowPlaintext: Bool = false) throws(MailDropError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host,
            scheme == "imap" || scheme == "imaps"
        else {
            throw MailDropError(.configuration, "'\(url)' is not an imap:// or imaps:// URL")
        }
        // A password and the directory's changes in the clear: only to a server on this machine.
        if allowPlaintext, scheme == "imap", !Loopback.contains(host) {
            throw MailDropError(
                .configuration,
                "imap_allow_plaintext is only for a server on this machine (127.0.0.1, ::1, localhost), not \(host): use imaps:// or STARTTLS")
        }
        let security: Security = scheme == "imaps" ? .implicitTLS : (allowPlaintext ? .none : .startTLS)
        let mailbox = components.path.drop { $0 == "/" }
        self.init(
            host: host, port: components.port ?? (scheme == "imaps" ? 993 : 143), security: security,
            mailbox: mailbox.isEmpty ? "INBOX" : String(mailbox), user: user, password: password, caFile: caFile)
    }
}

/// The answer to one command: the untagged responses that came with it and its completion.
struct IMAPOutcome: Sendable {
    var untagged: [IMAPResponse]
    var completion: IMAPResponse
}

/// One IMAP connection (RFC 9051 / RFC 3501 commands): commands go one at a time, each answered by
/// its tagged completion; responses are parsed from complete frames (literals of any size included).
final class IMAPConnection: @unchecked Sendable {
    let channel: any Channel
    private let handler: IMAPClientHandler
    let settings: IMAPSettings
    private(set) var capabilities: Set<String> = []
    private var tagNumber = 0

    private init(channel: any Channel, handler: IMAPClientHandler, settings: IMAPSettings) {
        self.channel = channel
        self.handler = handler
        self.settings = settings
    }

    var isActive: Bool { channel.isActive }

    static func connect(
        _ settings: IMAPSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(MailDropError)
        -> IMAPConnection
    {
        let handler = IMAPClientHandler()
        let where_ = "\(settings.host):\(settings.port)"
        let channel: any Channel
        let tlsContext = try makeTLSContext(settings)
        do {
            channel = try await NIOClient.connect(
                host: settings.host, port: settings.port, timeout: settings.timeout,
                tls: settings.security == .implicitTLS ? tlsContext : nil, group: group
            ) { pipeline in
                try pipeline.addHandler(ByteToMessageHandler(IMAPFrameDecoder(maxLineLength: 1 << 20, maxLiteralSize: settings.maxMessageSize)))
                try pipeline.addHandler(handler)
            }
        } catch let error as MailDropError {
            throw error
        } catch {
            throw MailDropError(.unavailable, "cannot connect to the IMAP server \(where_): \(error)")
        }
        let connection = IMAPConnection(channel: channel, handler: handler, settings: settings)
        do {
            let greeting = try await connection.exchange(tag: nil, line: nil, what: "greeting")
            if greeting.completion.status == .bye {
                throw MailDropError(.unavailable, "\(where_) refused the connection: \(greeting.completion.text)")
            }
            connection.noteCapabilities(greeting.completion)
            if settings.security == .startTLS {
                if connection.capabilities.isEmpty { try await connection.refreshCapabilities() }
                guard connection.capabilities.contains("STARTTLS") else {
                    throw MailDropError(.configuration, "\(where_) does not offer STARTTLS; use imaps:// or allow plain imap:// explicitly")
                }
                _ = try await connection.command("STARTTLS")
                do {
                    try await channel.eventLoop.submit {
                        try channel.pipeline.syncOperations.addHandler(try NIOClient.tlsHandler(tlsContext, host: settings.host), position: .first)
                    }.get()
                } catch {
                    throw MailDropError(.unavailable, "TLS with \(where_) failed: \(error)")
                }
                connection.capabilities = []
            }
            try await connection.login()
            return connection
        } catch let error as MailDropError {
            try? await channel.close().get()
            throw error
        } catch {
            try? await channel.close().get()
            throw MailDropError(.unavailable, "\(where_): \(error)")
        }
    }

    private static func makeTLSContext(_ settings: IMAPSettings) throws(MailDropError) -> NIOSSLContext {
        do {
            return try NIOClient.tlsContext(caFile: settings.caFile, verify: settings.verifyCertificate)
        } catch {
            throw MailDropError(.configuration, "cannot set up TLS for \(settings.host): \(error)")
        }
    }

    private func noteCapabilities(_ response: IMAPResponse) {
        if response.codeName == "CAPABILITY", let list = response.codeArgument {
            capabilities = Set(list.split(separator: " ").map { $0.uppercased() })
        }
    }

    func refreshCapabilities() async throws(MailDropError) {
        let outcome = try await command("CAPABILITY")
        for response in outcome.untagged where response.values.first?.atom?.uppercased() == "CAPABILITY" {
            capabilities = Set(response.values.dropFirst().compactMap { $0.atom?.uppercased() })
        }
    }

    // AUTHENTICATE PLAIN with an initial response (RFC 4959) when offered, else LOGIN.
    private func login() async throws(MailDropError) {
        if capabilities.isEmpty { try await refreshCapabilities() }
        let outcome: IMAPOutcome
        if capabilities.contains("AUTH=PLAIN"), capabilities.contains("SASL-IR") {
            let token = Data(([0] + Array(settings.user.utf8) + [0] + Array(settings.password.utf8))).base64EncodedString()
            outcome = try await command("AUTHENTICATE PLAIN \(token)", secret: true, failure: .refused)
        } else if !capabilities.contains("LOGINDISABLED") {
            outcome = try await command(
                "LOGIN \(try Self.quoted(settings.user)) \(try Self.quoted(settings.password))", secret: true, failure: .refused)
        } else {
            throw MailDropError(.configuration, "\(settings.host) allows neither AUTHENTICATE PLAIN nor LOGIN here (is TLS required?)")
        }
        noteCapabilities(outcome.completion)
        if outcome.completion.codeName != "CAPABILITY" { try await refreshCapabilities() }
    }

    /// A quoted string; CR, LF and NUL cannot be sent this way.
    static func quoted(_ text: String) throws(MailDropError) -> String {
        guard !text.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
            throw MailDropError(.configuration, "an IMAP name or password may not hold line breaks or NUL")
        }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Sends a command and waits for its tagged completion; NO and BAD become errors of kind `failure`.
    @discardableResult
    func command(_ line: String, secret: Bool = false, failure: MailDropError.Kind = .refused) async throws(MailDropError) -> IMAPOutcome {
        tagNumber += 1
        let tag = "B\(tagNumber)"
        let shown = secret ? String(line.prefix { $0 != " " }) : line
        let outcome = try await exchange(tag: tag, line: Array("\(tag) \(line)\r\n".utf8), what: shown)
        switch outcome.completion.status {
        case .ok: return outcome
        default:
            let code = outcome.completion.code.map { "[\($0)] " } ?? ""
            throw MailDropError(
                failure, "IMAP \(shown): \(outcome.completion.status?.rawValue ?? "?") \(code)\(outcome.completion.text)",
                code: outcome.completion.codeName)
        }
    }

    private func exchange(tag: String?, line: [UInt8]?, what: String) async throws(MailDropError) -> IMAPOutcome {
        let promise = channel.eventLoop.makePromise(of: IMAPOutcome.self)
        let timeout = TimeAmount.milliseconds(Int64(settings.timeout * 1000))
        let handler = self.handler
        let channel = self.channel
        channel.eventLoop.execute {
            handler.expect(tag: tag, promise: promise)
            if let line { channel.writeAndFlush(ByteBuffer(bytes: line), promise: nil) }
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                promise.fail(MailDropError(.unavailable, "no answer to IMAP \(what) within \(Int(self.settings.timeout)) seconds"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as MailDropError {
            throw error
        } catch {
            throw MailDropError(.unavailable, "IMAP \(what): \(error)")
        }
    }

    /// RFC 2177 IDLE: waits until the server says the selected mailbox has grown (`* n EXISTS`), until
    /// `seconds` have passed, or until `stop` says so; then ends the IDLE with DONE and waits for its
    /// completion. True when the mailbox grew.
    func idle(upTo seconds: Double, stop: @Sendable () -> Bool) async throws(MailDropError) -> Bool {
        guard capabilities.isEmpty || capabilities.contains("IDLE") else {
            throw MailDropError(.configuration, "the IMAP server does not offer IDLE (RFC 2177)")
        }
        tagNumber += 1
        let tag = "B\(tagNumber)"
        let completion = channel.eventLoop.makePromise(of: IMAPOutcome.self)
        let handler = self.handler
        let channel = self.channel
        try await submit { handler.startIdle(tag: tag, promise: completion) }
        channel.writeAndFlush(ByteBuffer(bytes: Array("\(tag) IDLE\r\n".utf8)), promise: nil)
        let deadline = Date().addingTimeInterval(seconds)
        var grew = false
        while Date() < deadline, !stop(), channel.isActive {
            grew = try await submit { handler.idleSawGrowth }
            if grew { break }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        guard channel.isActive else { throw MailDropError(.unavailable, "the IMAP server closed the connection during IDLE") }
        // RFC 2177: the client ends IDLE once the server has answered it with a continuation.
        let answered = try await submit { handler.idleAccepted }
        if !answered {
            let wait = Date().addingTimeInterval(settings.timeout)
            while try await !submit({ handler.idleAccepted }), Date() < wait, channel.isActive {
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        channel.writeAndFlush(ByteBuffer(bytes: Array("DONE\r\n".utf8)), promise: nil)
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(settings.timeout * 1000))) {
            completion.fail(MailDropError(.unavailable, "no answer to IMAP DONE within \(Int(self.settings.timeout)) seconds"))
            channel.close(promise: nil)
        }
        let outcome: IMAPOutcome
        do {
            outcome = try await completion.futureResult.get()
        } catch let error as MailDropError {
            throw error
        } catch {
            throw MailDropError(.unavailable, "IMAP IDLE: \(error)")
        }
        timer.cancel()
        guard outcome.completion.status == .ok else {
            throw MailDropError(.refused, "IMAP IDLE: \(outcome.completion.status?.rawValue ?? "?") \(outcome.completion.text)")
        }
        return grew || outcome.untagged.contains { $0.values.count >= 2 && $0.values[1].atom?.uppercased() == "EXISTS" }
    }

    private func submit<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws(MailDropError) -> T {
        do {
            return try await channel.eventLoop.submit(body).get()
        } catch {
            throw MailDropError(.unavailable, "IMAP: \(error)")
        }
    }

    func logout() async {
        _ = try? await command("LOGOUT")
        try? await channel.close().get()
    }
}

/// Collects responses on the event loop and completes the one command waiting for them.
final class IMAPClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = IMAPFrame

    private var waiting: (tag: String?, promise: EventLoopPromise<IMAPOutcome>)?
    private var untagged: [IMAPResponse] = []
    private var closedReason: String?
    /// During IDLE: whether the server accepted it (its continuation), and whether the mailbox grew.
    private(set) var idleAccepted = false
    private(set) var idleSawGrowth = false

    func startIdle(tag: String, promise: EventLoopPromise<IMAPOutcome>) {
        idleAccepted = false
        idleSawGrowth = false
        expect(tag: tag, promise: promise)
    }

    func expect(tag: String?, promise: EventLoopPromise<IMAPOutcome>) {
        if let closedReason {
            promise.fail(MailDropError(.unavailable, closedReason))
            return
        }
        waiting = (tag, promise)
        // The greeting may have arrived before anyone asked for it.
        if tag == nil, let index = untagged.firstIndex(where: { $0.status != nil }) {
            let greeting = untagged.remove(at: index)
            complete(IMAPOutcome(untagged: [], completion: greeting))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let response: IMAPResponse
        do {
            response = try IMAPResponse(parsing: frame)
        } catch {
            fail("the server sent a malformed response: \(error)")
            context.close(promise: nil)
            return
        }
        switch response.kind {
        case .tagged(let tag):
            guard let waiting, waiting.tag == tag else { return }
            complete(IMAPOutcome(untagged: untagged, completion: response))
        case .untagged:
            if response.values.count >= 2, response.values[1].atom?.uppercased() == "EXISTS" { idleSawGrowth = true }
            if let waiting, waiting.tag == nil, response.status != nil {
                complete(IMAPOutcome(untagged: [], completion: response))  // the greeting
            } else {
                untagged.append(response)
            }
        case .continuation:
            idleAccepted = true
        }
    }

    private func complete(_ outcome: IMAPOutcome) {
        let promise = waiting?.promise
        waiting = nil
        untagged = []
        promise?.succeed(outcome)
    }

    private func fail(_ reason: String) {
        closedReason = closedReason ?? reason
        let promise = waiting?.promise
        waiting = nil
        untagged = []
        promise?.fail(MailDropError(.unavailable, reason))
    }

    func channelInactive(context: ChannelHandlerContext) {
        let bye = untagged.first { $0.status == .bye }?.text
        fail("the IMAP server closed the connection" + (bye.map { ": \($0)" } ?? ""))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail("IMAP connection failed: \(error)")
        context.close(promise: nil)
    }
}
