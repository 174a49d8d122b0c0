import Foundation
import LDIF
import MIME
import MessageFormat
import SMIME
import TestSupport
import Testing

/// `MessageDecoder.decode(file:)` reads a message a megabyte at a time and never holds it; on the
/// same bytes it must reach the verdict `decode(_:)` reaches holding them: the same records, or a
/// refusal of the same kind (for the signature and the format, in the same words).
@Suite(.serialized) struct StreamedDecodeTests {
    let pki: TestPKI
    let folder: URL

    init() throws {
        pki = try TestPKI()
        folder = pki.directory.appendingPathComponent("streamed")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    enum Verdict: Equatable, CustomStringConvertible {
        case accepted(source: String, sequence: UInt64, signer: String, records: [LDIFRecord])
        case refused(String)

        var description: String {
            switch self {
            case .accepted(let source, let sequence, let signer, let records):
                "accepted \(source) #\(sequence) by \(signer), \(records.count) records"
            case .refused(let reason): "refused: \(reason)"
            }
        }
    }

    /// What a refusal is, for comparing: its kind, and for the signature and format its words (a
    /// MIME error's line may be counted differently).
    static func refusal(_ error: DecodeError) -> Verdict {
        switch error {
        case .mime: .refused("mime")
        case .unknownSource(let reason): .refused("source: \(reason)")
        case .signature(let error): .refused("signature: \(error)")
        case .format(let error): .refused("format: \(error)")
        case .otherKind(let kind): .refused("kind: \(kind)")
        }
    }

    /// Both verdicts on `bytes`; and the streamed one again with the records checked only as they
    /// are read (`checkingRecords: false`, as `sync` reads a large message), which must be the same.
    func verdicts(_ bytes: [UInt8], _ decoder: MessageDecoder, name: String) async throws -> (held: Verdict, streamed: Verdict) {
        let held: Verdict
        do {
            let decoded = try await decoder.decode(bytes)
            held = .accepted(
                source: decoded.message.source, sequence: decoded.message.sequence, signer: decoded.signer.subject.description,
                records: decoded.message.records)
        } catch {
            held = Self.refusal(error)
        }
        let file = folder.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        let streamed = await streamedVerdict(file.path, decoder, checkingRecords: true, name: name)
        let unchecked = await streamedVerdict(file.path, decoder, checkingRecords: false, name: name)
        #expect(unchecked == streamed, "\(name): records checked at once \(streamed), as they are read \(unchecked)")
        return (held, streamed)
    }

    /// The verdict of `decode(file:checkingRecords:)` and a reading of the records; the record
    /// count is known only when the records were checked at once.
    func streamedVerdict(_ path: String, _ decoder: MessageDecoder, checkingRecords: Bool, name: String) async -> Verdict {
        do {
            let message = try await decoder.decode(file: path, checkingRecords: checkingRecords)
            var records: [LDIFRecord] = []
            try message.forEachRecord { records.append($0) }
            #expect(message.recordCount == (checkingRecords ? records.count : nil), "\(name)")
            return .accepted(
                source: message.decoded.message.source, sequence: message.decoded.message.sequence,
                signer: message.decoded.signer.subject.description, records: records)
        } catch let error as DecodeError {
            return Self.refusal(error)
        } catch {
            return .refused("records: \(error)")
        }
    }

    func expectSame(_ bytes: [UInt8], _ decoder: MessageDecoder, name: String, accepted: Bool? = nil) async throws {
        let (held, streamed) = try await verdicts(bytes, decoder, name: name)
        #expect(held == streamed, "\(name): held \(held), streamed \(streamed)")
        if let accepted {
            if case .accepted = held { #expect(accepted, "\(name) was accepted") } else { #expect(!accepted, "\(name): \(held)") }
        }
    }

    /// The example messages (three good, one forged) and every MIME fixture (unsigned: refused alike).
    @Test func theFixturesGetTheSameVerdict() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let examples = MessageDecoder(verifier: try SMIMEVerifier(pemFiles: [root.appendingPathComponent("examples/pki/ca.pem").path]))
        var seen = 0
        for directory in ["examples/messages", "Tests/MIMETests/Fixtures/valid", "Tests/MIMETests/Fixtures/malformed"] {
            let url = root.appendingPathComponent(directory)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() where name.hasSuffix(".eml") {
                let bytes = [UInt8](try Data(contentsOf: url.appendingPathComponent(name)))
                try await expectSame(bytes, examples, name: name, accepted: directory == "examples/messages" ? !name.hasPrefix("forged") : false)
                seen += 1
            }
        }
        #expect(seen > 70)
    }

    /// A body of `count` modify records, CRLF line ends: a few megabytes cross the reader's chunks.
    static func body(_ count: Int) -> String {
        (0..<count).map { index in
            "dn: cn=user \(index),ou=people,dc=example,dc=com\r\nchangetype: modify\r\nreplace: description\r\n"
                + "description: \(String(repeating: "abcdefghij", count: 10)) \(index)\r\n-\r\n"
        }.joined(separator: "\r\n")
    }

    static let header =
        "Content-Type: application/ldif; charset=utf-8\r\nBridgehead-Format: 1\r\nBridgehead-Source: site-a\r\nBridgehead-Sequence: 7\r\n"

    func signed(_ entity: String, digest: String = "sha256", signer: String = "rsa") throws -> [UInt8] {
        let input = folder.appendingPathComponent("entity-\(UUID().uuidString.prefix(6))")
        try Data(entity.utf8).write(to: input)
        return try pki.openssl([
            "cms", "-sign", "-in", input.path, "-signer", pki.path("\(signer).pem"), "-inkey", pki.path("\(signer).key"), "-binary", "-md", digest,
            "-from", "dra@site-a.example.com", "-to", "dra@site-b.example.com", "-subject", "replication",
        ]).stdoutBytes
    }

    /// Large messages in every form a signed part may take, and damaged ones: the same verdict.
    @Test func largeMessagesInEveryFormGetTheSameVerdict() async throws {
        let decoder = MessageDecoder(verifier: try SMIMEVerifier(pemFiles: [pki.path("ca.pem")]))
        let body = Self.body(12_000)
        let delta = Self.header + "Bridgehead-Kind: delta\r\n\r\nversion: 1\r\n\r\n" + body
        let good = try signed(delta)
        #expect(good.count > 2 << 20)
        try await expectSame(good, decoder, name: "crlf.eml", accepted: true)
        // As a Maildir keeps it: bare LFs.
        let lf = Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").utf8)
        try await expectSame(lf, decoder, name: "lf.eml", accepted: true)
        // Other digests (and micalg); micalg naming another digest than the signature's.
        let sha512 = try signed(delta, digest: "sha512", signer: "ec")
        try await expectSame(sha512, decoder, name: "sha512.eml", accepted: true)
        let lying = Array(String(decoding: sha512, as: UTF8.self).replacingOccurrences(of: "micalg=\"sha-512\"", with: "micalg=\"sha-256\"").utf8)
        #expect(lying != sha512)
        try await expectSame(lying, decoder, name: "micalg.eml", accepted: true)
        // The signed part base64- and quoted-printable-encoded.
        let encoded = Data(("version: 1\r\n\r\n" + body).utf8).base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
        ])
        let base64 = try signed(Self.header + "Bridgehead-Kind: delta\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded + "\r\n")
        try await expectSame(base64, decoder, name: "base64.eml", accepted: true)
        let quoted = body.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(
            of: "abcdefghij abcdefghij", with: "abcdefghij=\r\n abcdefghij")
        let qp = try signed(Self.header + "Bridgehead-Kind: delta\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nversion: 1\r\n\r\n" + quoted)
        try await expectSame(qp, decoder, name: "qp.eml", accepted: true)

        // Damage: a byte changed past the first megabyte; base64 broken; the LDIF broken far in; a
        // record of the wrong kind; the signature cut.
        var tampered = good
        let at = tampered.indices.dropFirst(1 << 20 + 17).first { tampered[$0] == UInt8(ascii: "j") }!
        tampered[at] = UInt8(ascii: "k")
        try await expectSame(tampered, decoder, name: "tampered.eml", accepted: false)
        var broken = Array(encoded.utf8)
        broken[broken.indices.dropFirst(2 << 20).first { broken[$0] > 0x20 }!] = UInt8(ascii: "!")
        let brokenBase64 = try signed(
            Self.header + "Bridgehead-Kind: delta\r\nContent-Transfer-Encoding: base64\r\n\r\n" + String(decoding: broken, as: UTF8.self) + "\r\n")
        try await expectSame(brokenBase64, decoder, name: "broken-base64.eml", accepted: false)
        let brokenLDIF = try signed(
            delta.replacingOccurrences(of: "changetype: modify\r\nreplace: description\r\ndescription: abcdefghij", with: "changetype: frob\r\n"))
        try await expectSame(brokenLDIF, decoder, name: "broken-ldif.eml", accepted: false)
        let wrongKind = try signed(Self.header + "Bridgehead-Kind: full\r\n\r\nversion: 1\r\n\r\n" + body)
        try await expectSame(wrongKind, decoder, name: "wrong-kind.eml", accepted: false)
        let text = String(decoding: good, as: UTF8.self)
        let cut = text.range(of: "Content-Disposition: attachment; filename=\"smime.p7s\"")!
        let noSignature = Array((String(text[..<cut.upperBound]) + "\n\nMIIB\n").utf8)
        try await expectSame(noSignature, decoder, name: "cut.eml", accepted: false)
        // Unknown source with per-source verifiers; a request where deltas are read.
        let perSource = MessageDecoder(sources: ["site-b": try SMIMEVerifier(pemFiles: [pki.path("ca.pem")])])
        try await expectSame(good, perSource, name: "unknown-source.eml", accepted: false)
    }

    /// A file that changes between the check and the reading of its records is not shown as
    /// verified: the reading says so.
    @Test func aFileChangedAfterItsCheckIsReported() async throws {
        let decoder = MessageDecoder(verifier: try SMIMEVerifier(pemFiles: [pki.path("ca.pem")]))
        var bytes = try signed(Self.header + "Bridgehead-Kind: delta\r\n\r\nversion: 1\r\n\r\n" + Self.body(100))
        let file = folder.appendingPathComponent("changing.eml")
        try Data(bytes).write(to: file)
        let message = try await decoder.decode(file: file.path)
        #expect(message.recordCount == 100)
        // In the signed LDIF (the outer header's "Subject" is not signed).
        let ldif = bytes.firstRange(of: Array("version: 1".utf8))!.upperBound
        let at = bytes[ldif...].firstIndex(of: UInt8(ascii: "j"))!
        bytes[at] = UInt8(ascii: "J")
        // Rewritten in place (a new file under the same name would not change what was opened).
        let handle = try FileHandle(forWritingTo: file)
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
        do {
            try message.forEachRecord { _ in }
            Issue.record("a changed file was read as verified")
        } catch {
            #expect("\(error)".contains("changed while it was read"), "\(error)")
        }
        // As sync reads a message's records at its turn: refused (and quarantined), not applied.
        do {
            _ = try message.message()
            Issue.record("a changed file gave its records")
        } catch {
            #expect("\(error)".contains("changed while it was read"), "\(error)")
        }
        // A change that breaks the LDIF itself is reported the same way; also when the records
        // were not checked at first (then their first reading finds the LDIF broken, and says that
        // the file changed, not that the verified message is broken).
        bytes[at] = UInt8(ascii: "j")
        let restored = try FileHandle(forWritingTo: file)
        try restored.write(contentsOf: Data(bytes))
        try restored.close()
        let unchecked = try await decoder.decode(file: file.path, checkingRecords: false)
        bytes[at] = UInt8(ascii: "\u{01}")
        let again = try FileHandle(forWritingTo: file)
        try again.write(contentsOf: Data(bytes))
        try again.close()
        #expect(throws: DecodeError.self) { _ = try message.message() }
        do {
            _ = try unchecked.message()
            Issue.record("a changed file gave its records")
        } catch {
            #expect("\(error)".contains("changed while it was read"), "\(error)")
        }
    }

    /// Unchanged, the file gives the records the held decoder gives.
    @Test func theRecordsReadAgainAreTheHeldOnes() async throws {
        let decoder = MessageDecoder(verifier: try SMIMEVerifier(pemFiles: [pki.path("ca.pem")]))
        let bytes = try signed(Self.header + "Bridgehead-Kind: delta\r\n\r\nversion: 1\r\n\r\n" + Self.body(50))
        let file = folder.appendingPathComponent("again.eml")
        try Data(bytes).write(to: file)
        let streamed = try await decoder.decode(file: file.path).message()
        let held = try await decoder.decode(bytes).message
        #expect(streamed.records == held.records && streamed.records.count == 50)
        #expect(streamed.sequence == held.sequence && streamed.source == held.source && streamed.kind == held.kind)
    }
}
