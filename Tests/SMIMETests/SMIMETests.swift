import Foundation
import MIME
import SMIME
import TestSupport
import Testing
import X509

@Suite(.serialized) struct SMIMETests {
    let pki: TestPKI
    let verifier: SMIMEVerifier

    init() throws {
        pki = try TestPKI()
        verifier = try SMIMEVerifier(pemFiles: [pki.path("ca.pem")])
    }

    private func verify(_ bytes: [UInt8], with verifier: SMIMEVerifier? = nil, at time: Date = Date()) async throws -> SignedContent {
        try await (verifier ?? self.verifier).verify(try MIMEParser.parse(bytes), at: time)
    }

    private func expectRefusal(
        _ bytes: [UInt8], with verifier: SMIMEVerifier? = nil, at time: Date = Date(), _ check: (SMIMEError) -> Bool
    )
        async throws
    {
        do {
            _ = try await verify(bytes, with: verifier, at: time)
            Issue.record("the signature was accepted")
        } catch let error as SMIMEError {
            #expect(check(error), "\(error)")
        }
    }

    @Test(arguments: [("rsa", "cms"), ("ec", "cms"), ("rsa", "smime"), ("ec", "smime")])
    func opensslSignaturesVerify(_ signer: String, _ command: String) async throws {
        let message = try pki.signWithOpenSSL(ldifEntity, signer: signer, command: command)
        let verified = try await verify(message)
        #expect(verified.signer.subject.description.contains(signer == "rsa" ? "CN=site-a" : "CN=site-b"))
        #expect(verified.content.header["Bridgehead-Sequence"] == "7")
        #expect(try verified.content.text().contains("mail: jdoe@site-a.example.com"))
    }

    @Test func bareLineFeedsAsStoredInAMaildirStillVerify() async throws {
        let message = try pki.signWithOpenSSL(ldifEntity, signer: "rsa")
        let lf = message.split(separator: 0x0D, omittingEmptySubsequences: false).joined().map { $0 }
        #expect(!lf.contains(0x0D))
        _ = try await verify(Array(lf))
    }

    @Test func tamperedContentIsRefused() async throws {
        var message = try pki.signWithOpenSSL(ldifEntity, signer: "rsa")
        let needle = Array("jdoe@site-a".utf8)
        let at = try #require(message.indices.first { message[$0..<min($0 + needle.count, message.count)].elementsEqual(needle) })
        message[at] = UInt8(ascii: "J")
        try await expectRefusal(message) {
            if case .tampered = $0 { return true }
            return false
        }
        // A changed Bridgehead header is tampering too: the signature covers the part's headers.
        var header = try pki.signWithOpenSSL(ldifEntity, signer: "ec")
        let sequence = Array("Bridgehead-Sequence: 7".utf8)
        let position = try #require(header.indices.first { header[$0..<min($0 + sequence.count, header.count)].elementsEqual(sequence) })
        header[position + sequence.count - 1] = UInt8(ascii: "8")
        try await expectRefusal(header) {
            if case .tampered = $0 { return true }
            return false
        }
    }

    @Test func signerFromAnotherCAIsNotTrusted() async throws {
        let message = try pki.signWithOpenSSL(ldifEntity, signer: "stranger")
        try await expectRefusal(message) {
            if case .untrustedSigner = $0 { return true }
            return false
        }
        // Trusting that CA makes the same message good: the embedded certificate alone never is.
        _ = try await verify(message, with: try SMIMEVerifier(pemFiles: [pki.path("other-ca.pem")]))
        try await expectRefusal(message, with: SMIMEVerifier(trustRoots: [])) {
            if case .untrustedSigner = $0 { return true }
            return false
        }
    }

    @Test func aSourcesOwnCertificateCanBeTheTrustedOne() async throws {
        // Pinned: the configured certificate is the signer's own, not a CA.
        let message = try pki.signWithOpenSSL(ldifEntity, signer: "rsa")
        let verified = try await verify(message, with: try SMIMEVerifier(pemFiles: [pki.path("rsa.pem")]))
        #expect(verified.signer.subject.description.contains("CN=site-a"))
        // Another source's pinned certificate does not vouch for it, and a tampered body still fails.
        try await expectRefusal(message, with: try SMIMEVerifier(pemFiles: [pki.path("ec.pem")])) {
            if case .untrustedSigner = $0 { return true }
            return false
        }
        let tampered = Array(String(decoding: message, as: UTF8.self).replacingOccurrences(of: "jdoe@site-a", with: "jdoe@site-x").utf8)
        try await expectRefusal(tampered, with: try SMIMEVerifier(pemFiles: [pki.path("rsa.pem")])) {
            if case .tampered = $0 { return true }
            return false
        }
    }

    @Test func expiredSignerIsRefused() async throws {
        let message = try pki.signWithOpenSSL(ldifEntity, signer: "rsa")
        try await expectRefusal(message, at: Date().addingTimeInterval(30 * 86_400)) {
            if case .expiredSigner = $0 { return true }
            return false
        }
    }

    @Test func unsignedAndBrokenSignaturesAreRefused() async throws {
        try await expectRefusal(Array("From: a@b\r\nContent-Type: text/plain\r\n\r\nhello\r\n".utf8)) {
            if case .notSigned = $0 { return true }
            return false
        }
        let onePart = Array(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n".utf8)
        try await expectRefusal(onePart) {
            if case .malformedSignature = $0 { return true }
            return false
        }
        let garbage = Array(
            ("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\n"
                + "Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n--b--\r\n").utf8)
        try await expectRefusal(garbage) {
            if case .malformedSignature = $0 { return true }
            return false
        }
    }

    @Test(arguments: ["rsa", "ec"])
    func ourSignaturesPassOpenSSL(_ signer: String) async throws {
        let smime = try SMIMESigner(certificateFile: pki.path("\(signer).pem"), keyFile: pki.path("\(signer).key"))
        let entity = try smime.sign(ldifEntity)
        let message = Array("From: dra@site-a.example.com\r\nTo: dra@site-b.example.com\r\nMIME-Version: 1.0\r\n".utf8) + entity
        // Our own verifier accepts it …
        let verified = try await verify(message)
        #expect(verified.content.bytes.elementsEqual(ldifEntity))
        // … and so does OpenSSL, which also gives back exactly the signed content.
        let file = pki.directory.appendingPathComponent("ours-\(signer).eml")
        try Data(message).write(to: file)
        // (Not with -binary: OpenSSL then expects LF-structured MIME, keeping the CR of the CRLF that
        // RFC 2046 puts before a delimiter as part of the content.)
        let output = try pki.openssl(["cms", "-verify", "-in", file.path, "-CAfile", pki.path("ca.pem")])
        #expect(output.stdoutBytes == ldifEntity)
        let smimeCheck = try pki.openssl(["smime", "-verify", "-in", file.path, "-CAfile", pki.path("ca.pem")])
        #expect(smimeCheck.stdoutBytes == ldifEntity)
        // The same message stored with bare LFs verifies too.
        let lf = pki.directory.appendingPathComponent("ours-\(signer)-lf.eml")
        try Data(message.filter { $0 != 0x0D }).write(to: lf)
        #expect(try pki.openssl(["cms", "-verify", "-in", lf.path, "-CAfile", pki.path("ca.pem")]).stdoutBytes == ldifEntity)
    }

    /// Keys whose signature algorithm hashes with something else than SHA-256: the content digest,
    /// the signature and `micalg` follow the key, and OpenSSL and our verifier agree.
    @Test(arguments: [
        ("p384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"], "sha-384"),
        ("p521", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp521r1"], "sha-512"),
    ])
    func otherKeyTypesSignWithTheirOwnDigest(_ name: String, _ key: [String], _ micalg: String) async throws {
        try pki.issue(name, ca: "ca", subject: "/CN=site-a", email: "dra@site-a.example.com", key: key)
        let smime = try SMIMESigner(certificateFile: pki.path("\(name).pem"), keyFile: pki.path("\(name).key"))
        #expect(smime.algorithm.micalg == micalg)
        let message = Array("From: dra@site-a.example.com\r\nMIME-Version: 1.0\r\n".utf8) + (try smime.sign(ldifEntity))
        #expect(String(decoding: message, as: UTF8.self).contains("micalg=\(micalg);"))
        let file = pki.directory.appendingPathComponent("ours-\(name).eml")
        try Data(message).write(to: file)
        #expect(try pki.openssl(["cms", "-verify", "-in", file.path, "-CAfile", pki.path("ca.pem")]).stdoutBytes == ldifEntity)
        #expect(try await verify(message).content.bytes.elementsEqual(ldifEntity))
    }

    /// OpenSSL 3.0 cannot verify an Ed25519 CMS signature, so such a key is refused when it is loaded.
    @Test func anEd25519KeyIsRefusedWithAReason() throws {
        try pki.issue("ed", ca: "ca", subject: "/CN=site-a", email: "dra@site-a.example.com", key: ["-newkey", "ed25519"])
        #expect {
            try SMIMESigner(certificateFile: pki.path("ed.pem"), keyFile: pki.path("ed.key"))
        } throws: { "\($0)".contains("neither RSA nor ECDSA") }
    }

    /// The entity written in pieces (as a full message is, from a file) verifies like one signed whole,
    /// with a CR and its LF split across two pieces and bare LFs made CRLF.
    @Test func anEntityWrittenInPiecesVerifies() async throws {
        let smime = try SMIMESigner(certificateFile: pki.path("ec.pem"), keyFile: pki.path("ec.key"))
        var writer = SignedEntityWriter(signer: smime)
        var entity = writer.header()
        let content = ldifEntity + Array("dn: cn=x\n\n".utf8)
        var start = 0
        for size in [1, 7, 2, 64, 3] + Array(repeating: 5, count: content.count) where start < content.count {
            entity += writer.content(content[start..<min(start + size, content.count)])
            start += size
        }
        entity += try writer.finish()
        let message = Array("From: dra@site-b.example.com\r\nMIME-Version: 1.0\r\n".utf8) + entity
        let verified = try await verify(message)
        #expect(verified.content.bytes.elementsEqual(SMIMECanonical.crlf(content)))
        #expect(writer.contentBytes == SMIMECanonical.crlf(content).count)
    }

    @Test func keyThatDoesNotMatchTheCertificateIsRefused() {
        #expect(throws: SMIMEError.self) { try SMIMESigner(certificateFile: pki.path("rsa.pem"), keyFile: pki.path("ec.key")) }
        #expect(throws: SMIMEError.self) { try SMIMESigner(certificateFile: "/nonexistent.pem", keyFile: pki.path("ec.key")) }
    }
}
