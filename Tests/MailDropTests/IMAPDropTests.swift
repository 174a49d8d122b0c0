import Foundation
import MailDrop
import TestSupport
import Testing

@Suite(.serialized, .ownThread) struct IMAPDropTests {
    private func deliver(_ dovecot: Dovecot, _ count: Int, size: Int = 0, first: Int = 1) throws -> [[UInt8]] {
        try (first..<(first + count)).map { index in
            var bytes = Array("From: a@example.com\r\nSubject: message \(index)\r\nMessage-ID: <m\(index)@example.com>\r\n\r\nbody \(index)\r\n".utf8)
            if size > 0 { bytes += (0..<size).map { UInt8(0x41 + $0 % 26) } + [0x0D, 0x0A] }
            let path = try Maildir.deliver(bytes, to: dovecot.maildir, name: "\(1_700_000_000 + index).M\(index).test")
            // Dovecot takes a Maildir file's time as the message's INTERNALDATE.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(index))], ofItemAtPath: path)
            return bytes
        }
    }

    private func settings(_ dovecot: Dovecot, security: IMAPSettings.Security = .none, password: String? = nil) -> IMAPSettings {
        IMAPSettings(
            host: "127.0.0.1", port: security == .implicitTLS ? dovecot.imapsPort ?? 0 : dovecot.port, security: security,
            user: dovecot.user, password: password ?? dovecot.password, caFile: dovecot.caFile, timeout: 30, fetchBatch: 4)
    }

    @Test func listFetchAndSettle() async throws {
        let dovecot = try Dovecot()
        let sent = try deliver(dovecot, 10)
        let drop = IMAPDrop(settings: settings(dovecot))
        let listed = try await drop.list()
        #expect(listed.count == 10)
        #expect(listed.map(\.received) == (1...10).map { Date(timeIntervalSince1970: 1_700_000_000 + Double($0)) }, "INTERNALDATE, in UID order")
        var received: [[UInt8]] = []
        for message in listed { received.append(try await drop.fetch(message)) }
        #expect(Set(received) == Set(sent), "every message byte for byte")
        try await drop.settle(listed[0], as: .processed)
        try await drop.settle(listed[1], as: .quarantined)
        try await drop.settle(listed[2], as: .leftInPlace)
        #expect(try await drop.list().count == 8)
        #expect(await drop.capabilities.contains("MOVE"))
        await drop.close()
        #expect(dovecot.files(in: ".Processed").count == 1)
        #expect(dovecot.files(in: ".Quarantine").count == 1)
        #expect(dovecot.files(in: "").count == 8)
        #expect(dovecot.files(in: "").allSatisfy { !$0.contains(":2,S") }, "nothing was marked \\Seen: BODY.PEEK")
    }

    @Test func fallbackWithoutMove() async throws {
        let dovecot = try Dovecot()
        _ = try deliver(dovecot, 3)
        var plain = settings(dovecot)
        plain.ignoreMove = true
        let drop = IMAPDrop(settings: plain)
        let listed = try await drop.list()
        try await drop.settle(listed[0], as: .processed)
        try await drop.settle(listed[1], as: .processed)
        #expect(try await drop.list().map(\.id) == [listed[2].id])
        await drop.close()
        #expect(dovecot.files(in: ".Processed").count == 2)
        #expect(dovecot.files(in: "").count == 1, "COPY, STORE \\Deleted and UID EXPUNGE moved them")
    }

    @Test func largeMessagesArriveWhole() async throws {
        let dovecot = try Dovecot()
        let sent = try deliver(dovecot, 2, size: 3_000_000)
        let drop = IMAPDrop(settings: settings(dovecot))
        let listed = try await drop.list()
        let first = try await drop.fetch(listed[0])
        #expect(await drop.heldAhead == 0, "a large message is not fetched ahead of its turn")
        let second = try await drop.fetch(listed[1])
        #expect(Set([first, second]) == Set(sent))
        await drop.close()
        // Small ones are: the batch (4) in one command.
        let small = try Dovecot()
        _ = try deliver(small, 6)
        let batched = IMAPDrop(settings: settings(small))
        let messages = try await batched.list()
        _ = try await batched.fetch(messages[0])
        #expect(await batched.heldAhead == 3)
        await batched.close()
    }

    /// A message of 16 MiB or more is written to an unlinked temporary file as it arrives (never held
    /// whole) and handed over as that file, byte for byte; a smaller one as bytes.
    @Test func aLargeMessageArrivesInAFile() async throws {
        let dovecot = try Dovecot()
        let sent = try deliver(dovecot, 1, size: 17 << 20) + deliver(dovecot, 1, size: 3_000_000, first: 2)
        let drop = IMAPDrop(settings: settings(dovecot))
        let listed = try await drop.list()
        guard case .file(let file) = try await drop.fetchMessage(listed[0]) else {
            Issue.record("a 17 MiB message came as bytes")
            return
        }
        #expect(file.size == sent[0].count)
        #expect(try file.read(0..<file.size) == sent[0])
        #expect(try await drop.fetch(listed[0]) == sent[0], "read back whole for a caller that wants bytes")
        guard case .bytes = try await drop.fetchMessage(listed[1]) else {
            Issue.record("a 3 MB message came in a file")
            return
        }
        await drop.close()
        let left = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("bridgehead-message-") }
        #expect(left == [], "the file has no name left behind")
    }

    @Test func tlsBothWaysAndVerification() async throws {
        let dovecot = try Dovecot(tls: true)
        _ = try deliver(dovecot, 1)
        for security in [IMAPSettings.Security.implicitTLS, .startTLS] {
            let drop = IMAPDrop(settings: settings(dovecot, security: security))
            #expect(try await drop.list().count == 1, "\(security)")
            await drop.close()
        }
        // A CA we do not trust is refused, whichever way TLS starts.
        var untrusted = settings(dovecot, security: .implicitTLS)
        untrusted.caFile = nil
        await #expect(throws: MailDropError.self) { try await IMAPDrop(settings: untrusted).list() }
        var byName = settings(dovecot, security: .startTLS)
        byName.host = "localhost"
        #expect(try await IMAPDrop(settings: byName).list().count == 1, "the certificate names localhost")
    }

    @Test func wrongPasswordIsARefusal() async throws {
        let dovecot = try Dovecot()
        do {
            _ = try await IMAPDrop(settings: settings(dovecot, password: "wrong")).list()
            Issue.record("logged in with a wrong password")
        } catch {
            #expect(error.kind == .refused, "\(error)")
            #expect(!error.message.contains("wrong"), "the password is never shown")
        }
    }

    @Test func reconnectsAfterTheServerDropsTheConnection() async throws {
        let dovecot = try Dovecot()
        _ = try deliver(dovecot, 3)
        let drop = IMAPDrop(settings: settings(dovecot))
        let listed = try await drop.list()
        try dovecot.kickSessions()
        try await Task.sleep(for: .milliseconds(300))
        let bytes = try await drop.fetch(listed[0])
        #expect(!bytes.isEmpty)
        try await drop.settle(listed[0], as: .processed)
        await drop.close()
        #expect(dovecot.files(in: ".Processed").count == 1)
    }

    @Test func changedUIDValidityMakesReferencesStale() async throws {
        let dovecot = try Dovecot()
        _ = try deliver(dovecot, 2)
        let drop = IMAPDrop(settings: settings(dovecot))
        let listed = try await drop.list()
        // The server forgets its UIDs (as after a restore): the next session gets a new UIDVALIDITY.
        try dovecot.kickSessions()
        try await Task.sleep(for: .milliseconds(1_100))  // the session ends, and the next UIDVALIDITY (a time) differs
        for file in try FileManager.default.contentsOfDirectory(atPath: dovecot.maildir) where file.hasPrefix("dovecot") {
            try FileManager.default.removeItem(atPath: dovecot.maildir + "/" + file)
        }
        do {
            _ = try await drop.fetch(listed[0])
            Issue.record("fetched by a UID from another UIDVALIDITY")
        } catch {
            #expect(error.kind == .vanished && error.message.contains("UIDVALIDITY"), "\(error)")
        }
        let again = try await drop.list()
        #expect(again.count == 2 && Set(again.map(\.id)).isDisjoint(with: listed.map(\.id)))
        #expect(try await drop.fetch(again[0]).count > 0)
        await drop.close()
    }

    @Test func unreachableServerIsUnavailable() async throws {
        let dovecot = try Dovecot()
        let plain = settings(dovecot)
        dovecot.stop()
        do {
            _ = try await IMAPDrop(settings: plain).list()
            Issue.record("listed a stopped server")
        } catch {
            #expect(error.kind == .unavailable)
        }
    }

    @Test func urls() throws {
        let imaps = try IMAPSettings(url: "imaps://mail.example.com/Replication", user: "u", password: "p")
        #expect(imaps.security == .implicitTLS && imaps.port == 993 && imaps.mailbox == "Replication")
        let imap = try IMAPSettings(url: "imap://mail.example.com:1143", user: "u", password: "p")
        #expect(imap.security == .startTLS && imap.port == 1143 && imap.mailbox == "INBOX")
        #expect(try IMAPSettings(url: "imap://127.0.0.1", user: "u", password: "p", allowPlaintext: true).security == .none)
        #expect(try IMAPSettings(url: "imap://[::1]:143", user: "u", password: "p", allowPlaintext: true).security == .none)
        // A password in the clear across a network: refused, whatever the configuration says.
        #expect(throws: MailDropError.self) { try IMAPSettings(url: "imap://mail.example.com", user: "u", password: "p", allowPlaintext: true) }
        #expect(throws: MailDropError.self) { try IMAPSettings(url: "http://h", user: "u", password: "p") }
    }
}
