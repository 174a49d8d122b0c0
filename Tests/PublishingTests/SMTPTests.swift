import Foundation
import MailDrop
import Publishing
import TestSupport
import Testing

/// SMTP's framing, pure.
struct SMTPFramingTests {
    @Test func multiLineRepliesAreAssembled() throws {
        var assembler = SMTPReply.Assembler()
        #expect(try assembler.add(Array("250-smtp.test".utf8)) == nil)
        #expect(try assembler.add(Array("250-PIPELINING".utf8)) == nil)
        #expect(try assembler.add(Array("250 SIZE 1000".utf8)) == SMTPReply(code: 250, lines: ["smtp.test", "PIPELINING", "SIZE 1000"]))
        #expect(try assembler.add(Array("354".utf8)) == SMTPReply(code: 354, lines: [""]))
        #expect(assembler.isIdle)
    }

    @Test(arguments: ["25", "abc hello", "250x", "650 no", "250-a\n251 b"])
    func notReplyLinesAreRefused(_ text: String) {
        var assembler = SMTPReply.Assembler()
        #expect(throws: SMTPProtocolError.self) {
            for line in text.split(separator: "\n") { _ = try assembler.add(Array(line.utf8)) }
        }
    }

    @Test func dataIsDotStuffedWithCRLF() throws {
        let encoded = try SMTPData.encode(Array("Subject: x\r\n\r\n.leading dot\n..two\r\nlast".utf8))
        #expect(String(decoding: encoded, as: UTF8.self) == "Subject: x\r\n\r\n..leading dot\r\n...two\r\nlast\r\n.\r\n")
        #expect(throws: SMTPProtocolError.self) { try SMTPData.encode(Array(repeating: UInt8(ascii: "a"), count: 999)) }
    }

    /// A message sent in pieces (a file read a chunk at a time) is framed exactly as the whole is,
    /// wherever the pieces split it: inside a CRLF, before a leading dot, after a bare CR.
    @Test func dataInPiecesIsFramedAsTheWhole() throws {
        let message = Array("Subject: x\r\n\r\n.leading dot\n..two\r\nbare\rcr\r\n.\r\nlast\r".utf8)
        let whole = try SMTPData.encode(message)
        for split in 0...message.count {
            var encoder = SMTPData()
            let pieces = try encoder.encode(message[..<split]) + encoder.encode(message[split...]) + encoder.finish()
            #expect(pieces == whole, "split at \(split)")
        }
    }
}

/// The SMTP transport against a real SMTP server (aiosmtpd) on 127.0.0.1.
@Suite(.serialized, .ownThread) struct SMTPTransportTests {
    static let message = Array(
        "From: dra@site-a.example.com\r\nTo: dra@site-b.example.com\r\nSubject: test\r\n\r\n.a line with a dot\r\nbody é\r\n".utf8)

    func send(
        _ server: SMTPServer, _ url: String? = nil, user: String? = nil, password: String? = nil, ca: String? = nil, timeout: Double = 20,
        message: MessageSource = .bytes(SMTPTransportTests.message)
    )
        async throws(DeliveryError)
    {
        var settings: SMTPSettings
        do {
            settings = try SMTPSettings(url: url ?? "smtp://127.0.0.1:\(server.port)", user: user, password: password, caFile: ca)
        } catch {
            throw DeliveryError(.permanent, error.reason)
        }
        settings.timeout = timeout
        try await SMTPTransport(settings: settings).deliver(message, from: "dra@site-a.example.com", to: ["dra@site-b.example.com"])
    }

    @Test func plainOnLoopbackDeliversTheBytes() async throws {
        let server = try SMTPServer()
        try await send(server)
        #expect(try server.delivered() == [Self.message], "byte for byte, dot-unstuffed by the server")
    }

    /// A message larger than a chunk, read from a file (as an archived full message is), arrives
    /// byte for byte.
    @Test func aLargeMessageFromAFileArrivesWhole() async throws {
        let server = try SMTPServer()
        var bytes = Array("From: dra@site-a.example.com\r\nTo: dra@site-b.example.com\r\nSubject: big\r\n\r\n".utf8)
        var line = 0
        while bytes.count < 3 << 20 {
            bytes += Array("\(line % 7 == 0 ? "." : "")line \(line) ".utf8) + Array(repeating: UInt8(ascii: "x"), count: line % 900) + [0x0D, 0x0A]
            line += 1
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-big-\(UUID().uuidString).eml")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try await send(server, message: .file(file.path))
        #expect(try server.delivered() == [bytes])
    }

    /// STARTTLS with a certificate the client verifies, then AUTH, which is never sent in the clear.
    @Test func startTLSThenAuth() async throws {
        let pki = try TestPKI()
        try Data("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".utf8)
            .write(to: URL(fileURLWithPath: pki.path("server.ext")))
        try pki.openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", pki.path("server.key"), "-out", pki.path("server.csr"),
        ])
        try pki.openssl([
            "x509", "-req", "-in", pki.path("server.csr"), "-CA", pki.path("ca.pem"), "-CAkey", pki.path("ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", pki.path("server.ext"), "-out", pki.path("server.pem"),
        ])
        let server = try SMTPServer(tls: (pki.path("server.pem"), pki.path("server.key")), requireStartTLS: true, auth: "bridgehead:s3cret")
        try await send(server, user: "bridgehead", password: "s3cret", ca: pki.path("ca.pem"))
        #expect(try server.delivered() == [Self.message])
        do {
            try await send(server, user: "bridgehead", password: "wrong", ca: pki.path("ca.pem"))
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error.kind == .permanent, "\(error)")
        }
        // A certificate from a CA the client does not trust: no TLS, nothing sent.
        do {
            try await send(server, user: "bridgehead", password: "s3cret", ca: pki.path("other-ca.pem"))
            Issue.record("an untrusted server certificate was accepted")
        } catch {
            #expect(error.reason.lowercased().contains("certificate"), "\(error)")
        }
        #expect(try server.delivered().count == 1)
    }

    @Test func noPasswordWithoutTLS() async throws {
        let server = try SMTPServer()
        do {
            try await send(server, user: "bridgehead", password: "s3cret")
            Issue.record("a password went out in the clear")
        } catch {
            #expect(error.kind == .permanent)
            #expect(error.reason.contains("without TLS"), "\(error)")
        }
    }

    @Test(arguments: [
        ("rcpt-4xx", DeliveryError.Kind.temporary, "450"), ("data-4xx", .temporary, "451"), ("data-5xx", .permanent, "554"),
        ("ehlo-421", .temporary, "421"), ("drop-data", .temporary, "closed"),
    ])
    func failuresSayWhetherToRetry(_ fault: String, _ kind: DeliveryError.Kind, _ said: String) async throws {
        let server = try SMTPServer(fault: fault)
        do {
            try await send(server)
            Issue.record("\(fault): delivered")
        } catch {
            #expect(error.kind == kind, "\(fault): \(error)")
            #expect(error.reason.contains(said), "\(fault): \(error)")
        }
        #expect(try server.delivered().isEmpty)
    }

    /// No answer after the final dot: the message may have arrived; it is to be sent again.
    @Test func silenceAfterTheDotIsTemporary() async throws {
        let server = try SMTPServer(fault: "silent-after-data")
        do {
            try await send(server, timeout: 1)
            Issue.record("delivered without an answer")
        } catch {
            #expect(error.kind == .temporary)
            #expect(error.reason.contains("may have been delivered"), "\(error)")
        }
    }
}
