import Coding
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how to send mail (`smtp_url`, `smtp_user`, `smtp_password_file`, `smtp_ca_file` of `[publish]` or `[agent]`).
public struct SMTPSettings: Sendable, Hashable {
    public enum Security: Sendable, Hashable {
        /// smtps://: TLS from the first byte (RFC 8314).
        case implicitTLS
        /// smtp://: STARTTLS (RFC 3207) before anything else; a server on this machine that does not
        /// offer it is spoken to in the clear.
        case startTLS
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var user: String?
    public var password: String?
    public var caFile: String?
    public var verifyCertificate = true
    /// Seconds to wait for the connection and each reply; the reply to the final dot may take five times that.
    public var timeout: Double = 60
    /// The name this host gives in EHLO.
    public var heloName: String

    public init(url: String, user: String? = nil, password: String? = nil, caFile: String? = nil, heloName: String? = nil) throws(SMTPProtocolError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host,
            !host.isEmpty, scheme == "smtp" || scheme == "smtps", components.path.isEmpty || components.path == "/"
        else {
            throw SMTPProtocolError(reason: "'\(url)' is not an smtp://host[:port] or smtps://host[:port] URL")
        }
        self.host = host
        self.port = components.port ?? (scheme == "smtps" ? 465 : 587)
        self.security = scheme == "smtps" ? .implicitTLS : .startTLS
        self.user = user
        self.password = password
        self.caFile = caFile
        self.heloName = heloName ?? Self.localName()
    }

    /// A server on this machine: the only one that may be spoken to without TLS.
    public var isLoopback: Bool { Loopback.contains(host) }

    static func localName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty || name.contains(" ") ? "localhost" : name
    }
}

/// Sends messages over SMTP (RFC 5321) on SwiftNIO: multi-line replies, EHLO capabilities,
/// PIPELINING (RFC 2920) when offered, SIZE (RFC 1870), STARTTLS (RFC 3207) or implicit TLS, AUTH
/// PLAIN or LOGIN only once TLS is on, dot-stuffing. A 4xx is temporary, a 5xx permanent; a
/// connection lost before the final reply is temporary, and when it is lost after the final dot the
/// message may have been delivered: it is sent again next time, and the receiver drops the duplicate.
public struct SMTPTransport: MessageTransport {
    public let settings: SMTPSettings

    public init(settings: SMTPSettings) { self.settings = settings }

    public func deliver(_ message: MessageSource, from: String, to: [String]) async throws(DeliveryError) {
        let size: Int
        do {
            size = try message.size()
        } catch {
            throw DeliveryError(.permanent, "cannot read the message: \(error)")
        }
        let session = try await SMTPSession.open(settings)
        do {
            try await session.send(message, size: size, from: from, to: to)
        } catch {
            // Closed without the final dot: the server discards what it received.
            await session.close(quit: false)
            throw error
        }
        await session.close(quit: true)
    }
}

/// One SMTP connection.
final class SMTPSession: @unchecked Sendable {
    let channel: any Channel
    let handler: SMTPReplyHandler
    let settings: SMTPSettings
    var capabilities: [String: String] = [:]
    var tlsActive: Bool
    var where_: String { "SMTP server \(settings.host):\(settings.port)" }

    private init(channel: any Channel, handler: SMTPReplyHandler, settings: SMTPSettings) {
        self.channel = channel
        self.handler = handler
        self.settings = settings
        self.tlsActive = settings.security == .implicitTLS
    }

    static func open(
        _ settings: SMTPSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(DeliveryError)
        -> SMTPSession
    {
        let handler = SMTPReplyHandler()
        let context: NIOSSLContext
        do {
            context = try NIOClient.tlsContext(caFile: settings.caFile, verify: settings.verifyCertificate)
        } catch {
            throw DeliveryError(.permanent, "cannot set up TLS for \(settings.host): \(error)")
        }
        let channel: any Channel
        do {
            channel = try await NIOClient.connect(
                host: settings.host, port: settings.port, timeout: settings.timeout,
                tls: settings.security == .implicitTLS ? context : nil, group: group
            ) { pipeline in
                try pipeline.addHandler(ByteToMessageHandler(SMTPLineDecoder()))
                try pipeline.addHandler(handler)
            }
        } catch {
            throw DeliveryError(.temporary, "cannot connect to the SMTP server \(settings.host):\(settings.port): \(error)")
        }
        let session = SMTPSession(channel: channel, handler: handler, settings: settings)
        do throws(DeliveryError) {
            try session.expect(try await session.reply(to: nil, what: "greeting"), 220, "greeting")
            try await session.hello()
            if settings.security == .startTLS {
                if session.capabilities["STARTTLS"] != nil {
                    try session.expect(try await session.reply(to: "STARTTLS", what: "STARTTLS"), 220, "STARTTLS")
                    try await session.startTLS(context)
                    try await session.hello()
                } else if !settings.isLoopback {
                    throw DeliveryError(
                        .permanent, "\(session.where_) does not offer STARTTLS; the message and any password would cross the network in the clear")
                }
            }
            try await session.authenticate()
            return session
        } catch {
            await session.close(quit: false)
            throw error
        }
    }

    /// RFC 3207 §4.2 (and the STARTTLS command injection of CVE-2011-0411): whatever the server sent
    /// after its 220 arrived in the clear and must not be taken as said under TLS.
    private func startTLS(_ context: NIOSSLContext) async throws(DeliveryError) {
        let handler = self.handler
        let settings = self.settings
        let channel = self.channel
        do {
            try await channel.eventLoop.submit {
                guard handler.pendingIsEmpty else {
                    throw DeliveryError(.permanent, "the SMTP server sent more after its answer to STARTTLS, in the clear: refused")
                }
                try channel.pipeline.syncOperations.addHandler(try NIOClient.tlsHandler(context, host: settings.host), position: .first)
            }.get()
        } catch let error as DeliveryError {
            throw error
        } catch {
            throw DeliveryError(.temporary, "TLS with \(where_) failed: \(error)")
        }
        tlsActive = true
    }

    private func hello() async throws(DeliveryError) {
        let reply = try await self.reply(to: "EHLO \(settings.heloName)", what: "EHLO")
        try expect(reply, 250, "EHLO")
        capabilities = [:]
        for line in reply.lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            capabilities[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
    }

    private func authenticate() async throws(DeliveryError) {
        guard let user = settings.user else { return }
        guard tlsActive else {
            throw DeliveryError(.permanent, "\(where_): will not send the SMTP password without TLS (use smtps:// or a server that offers STARTTLS)")
        }
        let password = settings.password ?? ""
        let mechanisms = Set((capabilities["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        if mechanisms.contains("PLAIN") {
            let token = Data([0] + Array(user.utf8) + [0] + Array(password.utf8)).base64EncodedString()
            try expect(try await reply(to: "AUTH PLAIN \(token)", what: "AUTH PLAIN"), 235, "AUTH PLAIN")
        } else if mechanisms.contains("LOGIN") {
            try expect(try await reply(to: "AUTH LOGIN", what: "AUTH LOGIN"), 334, "AUTH LOGIN")
            try expect(try await reply(to: Data(user.utf8).base64EncodedString(), what: "AUTH LOGIN user"), 334, "AUTH LOGIN")
            try expect(try await reply(to: Data(password.utf8).base64EncodedString(), what: "AUTH LOGIN password"), 235, "AUTH LOGIN")
        } else {
            throw DeliveryError(.permanent, "\(where_) offers neither AUTH PLAIN nor AUTH LOGIN (offers: \(capabilities["AUTH"] ?? "none"))")
        }
    }

    /// One transaction: MAIL, every RCPT, DATA (together when the server pipelines), the data, the dot.
    func send(_ message: MessageSource, size: Int, from: String, to: [String]) async throws(DeliveryError) {
        if let limit = capabilities["SIZE"].flatMap(Int.init), limit > 0, size > limit {
            throw DeliveryError(.permanent, "the message is \(size) bytes; \(where_) accepts at most \(limit)")
        }
        for address in [from] + to where address.contains(where: { $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" || $0 == " " }) {
            throw DeliveryError(.permanent, "'\(address)' cannot be sent as an SMTP address")
        }
        let mail = "MAIL FROM:<\(from)>" + (capabilities["SIZE"] != nil ? " SIZE=\(size)" : "")
        let commands = [mail] + to.map { "RCPT TO:<\($0)>" } + ["DATA"]
        var replies: [SMTPReply] = []
        if capabilities["PIPELINING"] != nil {
            replies = try await self.replies(to: commands, what: "MAIL, RCPT and DATA")
        } else {
            for command in commands {
                let reply = try await self.reply(to: command, what: String(command.prefix(4)))
                replies.append(reply)
                if !reply.isPositive { break }
            }
        }
        for (command, reply) in zip(commands, replies) where !reply.isPositive {
            throw failure(reply, String(command.prefix(while: { $0 != ":" })))
        }
        try expect(replies.last ?? SMTPReply(code: 0, lines: []), 354, "DATA")
        // The message goes out a chunk at a time (a full message may be large), dot-stuffed on the way.
        var encoder = SMTPData()
        do {
            let chunks = try message.chunks()
            while let chunk = try chunks.next() {
                try await write(try encoder.encode(chunk), what: "the message")
            }
        } catch let error as DeliveryError {
            throw error
        } catch let error as SMTPProtocolError {
            throw DeliveryError(.permanent, error.reason)
        } catch {
            throw DeliveryError(.permanent, "cannot read the message: \(error)")
        }
        let end: [UInt8]
        do {
            end = try encoder.finish()
        } catch {
            throw DeliveryError(.permanent, error.reason)
        }
        let final = try await reply(toBytes: end, what: "the final dot", timeout: settings.timeout * 5, afterData: true)
        try expect(final, 250, "the message")
    }

    /// Writes bytes and waits until they are handed to the kernel; a server that stops reading for
    /// longer than the timeout loses the connection.
    private func write(_ bytes: [UInt8], what: String) async throws(DeliveryError) {
        let channel = self.channel
        let timeout = settings.timeout
        let written = channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { channel.close(promise: nil) }
            let done = channel.writeAndFlush(ByteBuffer(bytes: bytes))
            done.whenComplete { _ in timer.cancel() }
            return done
        }
        do {
            try await written.get()
        } catch {
            throw DeliveryError(.temporary, "\(where_): cannot send \(what): \(error)")
        }
    }

    func expect(_ reply: SMTPReply, _ code: Int, _ what: String) throws(DeliveryError) {
        guard reply.code == code else { throw failure(reply, what) }
    }

    func failure(_ reply: SMTPReply, _ what: String) -> DeliveryError {
        DeliveryError(
            reply.isTemporary ? .temporary : .permanent, "\(where_) answered \(what) with \(Text.printable(String(reply.description.prefix(300))))")
    }

    func reply(to command: String?, what: String) async throws(DeliveryError) -> SMTPReply {
        try await reply(toBytes: command.map { Array(($0 + "\r\n").utf8) }, what: what, timeout: settings.timeout, afterData: false)
    }

    func replies(to commands: [String], what: String) async throws(DeliveryError) -> [SMTPReply] {
        let promises = (0..<commands.count).map { _ in channel.eventLoop.makePromise(of: SMTPReply.self) }
        let bytes = Array(commands.map { $0 + "\r\n" }.joined().utf8)
        send(bytes, promises: promises, what: what, timeout: settings.timeout, afterData: false)
        var result: [SMTPReply] = []
        for promise in promises { result.append(try await wait(promise, what: what, afterData: false)) }
        return result
    }

    private func reply(toBytes bytes: [UInt8]?, what: String, timeout: Double, afterData: Bool) async throws(DeliveryError) -> SMTPReply {
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        send(bytes, promises: [promise], what: what, timeout: timeout, afterData: afterData)
        return try await wait(promise, what: what, afterData: afterData)
    }

    private func send(_ bytes: [UInt8]?, promises: [EventLoopPromise<SMTPReply>], what: String, timeout: Double, afterData: Bool) {
        let channel = self.channel
        let handler = self.handler
        channel.eventLoop.execute {
            for promise in promises { handler.expect(promise) }
            if let bytes { channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil) }
            let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
                handler.fail("no answer to \(what) within \(Int(timeout)) seconds")
                channel.close(promise: nil)
            }
            promises.last?.futureResult.whenComplete { _ in timer.cancel() }
        }
    }

    private func wait(_ promise: EventLoopPromise<SMTPReply>, what: String, afterData: Bool) async throws(DeliveryError) -> SMTPReply {
        do {
            return try await promise.futureResult.get()
        } catch {
            let reason = (error as? SMTPProtocolError)?.reason ?? "\(error)"
            if afterData {
                throw DeliveryError(
                    .temporary,
                    "\(where_): \(reason) after the final dot: the message may have been delivered; it is sent again next run "
                        + "(the receiver drops a duplicate)")
            }
            throw DeliveryError(.temporary, "\(where_): \(what): \(reason)")
        }
    }

    func close(quit: Bool) async {
        if quit, channel.isActive { _ = try? await reply(to: "QUIT", what: "QUIT") }
        try? await channel.close().get()
    }
}

/// Splits the server's bytes into lines (CRLF or LF), at most 2,048 octets each.
struct SMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let end = buffer.readableBytesView.firstIndex(of: 0x0A) else {
            if buffer.readableBytes > 2048 { throw SMTPProtocolError(reason: "the SMTP server sent a line of more than 2,048 octets") }
            return .needMoreData
        }
        let length = end - buffer.readerIndex
        var line = buffer.readBytes(length: length + 1) ?? []
        line.removeLast()
        if line.last == 0x0D { line.removeLast() }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}

/// Completes, in order, the promises waiting for replies; keeps replies nobody asked for yet.
final class SMTPReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = [UInt8]

    private var assembler = SMTPReply.Assembler()
    private var waiting: [EventLoopPromise<SMTPReply>] = []
    private var pending: [SMTPReply] = []
    private var closedReason: String?

    /// Whether nothing has arrived that nobody asked for (checked on the event loop).
    var pendingIsEmpty: Bool { pending.isEmpty && assembler.isIdle }

    func expect(_ promise: EventLoopPromise<SMTPReply>) {
        if !pending.isEmpty {
            promise.succeed(pending.removeFirst())
        } else if let closedReason {
            promise.fail(SMTPProtocolError(reason: closedReason))
        } else {
            waiting.append(promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            guard let reply = try assembler.add(unwrapInboundIn(data)) else { return }
            if waiting.isEmpty { pending.append(reply) } else { waiting.removeFirst().succeed(reply) }
        } catch {
            fail(error.reason)
            context.close(promise: nil)
        }
    }

    func fail(_ reason: String) {
        closedReason = closedReason ?? reason
        let all = waiting
        waiting = []
        for promise in all { promise.fail(SMTPProtocolError(reason: closedReason ?? reason)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail("the connection was closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail("\(error)")
        context.close(promise: nil)
    }
}
