import Foundation
import MIME
import SMIME
import TestSupport
import Testing
import X509

/// Who may sign: pinned keys, signers bound to a source's addresses through a CA, and signatures
/// whose certificates try to make the verifier search.
@Suite(.serialized) struct SignerTrustTests {
    let pki: TestPKI

    init() throws { pki = try TestPKI() }

    private func outcome(_ message: [UInt8], _ verifier: SMIMEVerifier) async -> Result<SignedContent, SMIMEError> {
        do {
            return .success(try await verifier.verify(try MIMEParser.parse(message)))
        } catch let error as SMIMEError {
            return .failure(error)
        } catch {
            return .failure(.malformedSignature("\(error)"))
        }
    }

    @Test func throughACASignersMustCarryOneOfTheSourcesAddresses() async throws {
        let siteC = try SMIMEVerifier(pemFiles: [pki.path("ca.pem")], signerAddresses: ["DRA@site-c.example.com"])
        #expect(siteC.notes.contains { $0.contains("CA certificate") }, "an administrator is told what a CA trusts")
        guard case .success = await outcome(try pki.signWithOpenSSL(ldifEntity, signer: "site-c"), siteC) else {
            Issue.record("site-c's own signer is accepted")
            return
        }
        // Site A's signer, issued by the same CA, cannot sign for site C.
        guard case .failure(.untrustedSigner(let reason)) = await outcome(try pki.signWithOpenSSL(ldifEntity, signer: "rsa"), siteC) else {
            Issue.record("another source's signer was accepted")
            return
        }
        #expect(reason.contains("dra@site-a.example.com") && reason.contains("none of this source's addresses"), "\(reason)")
        // A certificate for site C's address, but not for e-mail signing.
        try pki.issue("no-eku", ca: "ca", subject: "/CN=site-c tls", email: "dra@site-c.example.com", emailProtection: false)
        guard case .failure(.untrustedSigner(let purpose)) = await outcome(try pki.signWithOpenSSL(ldifEntity, signer: "no-eku"), siteC) else {
            Issue.record("a certificate without emailProtection was accepted")
            return
        }
        #expect(purpose.contains("emailProtection"), "\(purpose)")
    }

    @Test func aPinnedCertificateTrustsItsKeyAndNothingElse() async throws {
        let pinned = try SMIMEVerifier(pemFiles: [pki.path("rsa.pem")], signerAddresses: ["dra@site-a.example.com"])
        #expect(pinned.trustRoots.isEmpty && pinned.pinned.count == 1)
        // Same subject, same address, another key (and another CA): refused.
        guard case .failure(.untrustedSigner) = await outcome(try pki.signWithOpenSSL(ldifEntity, signer: "stranger"), pinned) else {
            Issue.record("a certificate with another key was accepted")
            return
        }
        // The same key in a re-issued certificate (another CA, another serial): accepted.
        try pki.openssl(["req", "-new", "-key", pki.path("rsa.key"), "-subj", "/CN=site-a renewed", "-out", pki.path("renewed.csr")])
        try pki.openssl([
            "x509", "-req", "-in", pki.path("renewed.csr"), "-CA", pki.path("other-ca.pem"), "-CAkey", pki.path("other-ca.key"),
            "-CAcreateserial", "-days", "3", "-extfile", pki.path("rsa.ext"), "-out", pki.path("renewed.pem"),
        ])
        try FileManager.default.copyItem(atPath: pki.path("rsa.key"), toPath: pki.path("renewed.key"))
        guard case .success(let verified) = await outcome(try pki.signWithOpenSSL(ldifEntity, signer: "renewed"), pinned) else {
            Issue.record("the pinned key in a renewed certificate was refused")
            return
        }
        // The signer reported is the certificate configured, not the one the signature carries
        // (signed by nothing trusted: its names and dates could be anyone's).
        #expect(verified.signer == pinned.pinned[0], "\(verified.signer.subject)")
    }

    /// A pinned certificate past its end is not revived by a look-alike the signature carries:
    /// same key, fresh dates, signed by a CA nobody trusts (or by nothing). Found by a review: the
    /// carried certificate's dates used to decide.
    @Test func anExpiredPinnedCertificateIsNotRevivedByTheCertificateASignatureCarries() async throws {
        try pki.openssl([
            "req", "-x509", "-key", pki.path("rsa.key"), "-days", "1", "-subj", "/CN=site-a short", "-out", pki.path("short.pem"),
            "-addext", "keyUsage=critical,digitalSignature",
        ])
        try pki.openssl(["req", "-new", "-key", pki.path("rsa.key"), "-subj", "/CN=site-a fresh", "-out", pki.path("fresh.csr")])
        try pki.openssl([
            "x509", "-req", "-in", pki.path("fresh.csr"), "-CA", pki.path("other-ca.pem"), "-CAkey", pki.path("other-ca.key"),
            "-CAcreateserial", "-days", "30", "-out", pki.path("fresh.pem"),
        ])
        try FileManager.default.copyItem(atPath: pki.path("rsa.key"), toPath: pki.path("fresh.key"))
        let pinned = try SMIMEVerifier(pemFiles: [pki.path("short.pem")], signerAddresses: ["dra@site-a.example.com"])
        let message = try MIMEParser.parse(try pki.signWithOpenSSL(ldifEntity, signer: "fresh"))
        _ = try await pinned.verify(message)  // today both are valid
        do {
            _ = try await pinned.verify(message, at: Date().addingTimeInterval(3 * 86_400))
            Issue.record("an expired pinned certificate was revived by the one the signature carries")
        } catch {
            guard case .expiredSigner(let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(reason.contains("configured certificate"), "\(reason)")
        }
    }

    /// A serial whose top bit is set is written in DER with a 0x00 in front (OpenSSL's random 159-bit
    /// serials need it once in 256 certificates; many CAs' serials half the time). The signer must
    /// still be recognised by issuer and serial: a self-signed certificate without emailProtection,
    /// pinned, used to be taken for a CA and its own signature refused for want of that purpose.
    @Test(arguments: ["0x80a1b2c3d4e5f60718", "0x00ff01", "0x7f01"])
    func aSerialWithItsTopBitSetStillNamesTheSigner(_ serial: String) async throws {
        try pki.openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=self-signed", "-set_serial", serial,
            "-keyout", pki.path("self.key"), "-out", pki.path("self.pem"), "-addext", "keyUsage=critical,digitalSignature",
        ])
        try pki.openssl([
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=site-c", "-keyout", pki.path("leaf.key"), "-out", pki.path("leaf.csr"),
        ])
        try pki.openssl([
            "x509", "-req", "-in", pki.path("leaf.csr"), "-CA", pki.path("ca.pem"), "-CAkey", pki.path("ca.key"), "-set_serial", serial,
            "-days", "3", "-extfile", pki.path("site-c.ext"), "-out", pki.path("leaf.pem"),
        ])
        let selfSigned = try SMIMEVerifier(pemFiles: [pki.path("self.pem")], signerAddresses: ["dra@site-c.example.com"])
        let leafPinned = try SMIMEVerifier(pemFiles: [pki.path("leaf.pem")], signerAddresses: ["dra@site-c.example.com"])
        let throughCA = try SMIMEVerifier(pemFiles: [pki.path("ca.pem")], signerAddresses: ["dra@site-c.example.com"])
        let ours = try SMIMESigner(certificateFile: pki.path("self.pem"), keyFile: pki.path("self.key"))
        let header = Array("From: dra@site-c.example.com\r\nTo: dra@site-b.example.com\r\nMIME-Version: 1.0\r\n".utf8)
        let cases: [(String, [UInt8], SMIMEVerifier)] = [
            ("openssl, self-signed pinned", try pki.signWithOpenSSL(ldifEntity, signer: "self"), selfSigned),
            ("ours, self-signed pinned", header + (try ours.sign(ldifEntity)), selfSigned),
            ("openssl, end-entity pinned", try pki.signWithOpenSSL(ldifEntity, signer: "leaf"), leafPinned),
            ("openssl, through the CA", try pki.signWithOpenSSL(ldifEntity, signer: "leaf"), throughCA),
        ]
        for (name, message, verifier) in cases {
            if case .failure(let error) = await outcome(message, verifier) { Issue.record("\(name), serial \(serial): \(error)") }
        }
    }

    /// A mesh of CAs that all cross-sign each other: without bounds, path building explores every
    /// path (a review measured 3 s for 7 subjects, 28 s for 8). Too many certificates are refused
    /// outright; a mesh within the limit is cut to one chain before validation.
    @Test func aCrossSignedMeshCannotStallTheVerifier() async throws {
        let subjects = 7
        for index in 1...subjects {
            try pki.makeCA("mesh\(index)", subject: "/CN=Mesh \(index)")
        }
        var crossSigned: [String] = []
        for subject in 1...subjects {
            for issuer in 1...subjects where issuer != subject {
                let name = "mesh\(subject)-by-\(issuer)"
                try pki.makeCA(name, subject: "/CN=Mesh \(subject)", issuer: "mesh\(issuer)", keyFrom: "mesh\(subject)")
                crossSigned.append(name)
            }
        }
        // Mesh 1 also holds a certificate from the trusted CA: a chain to it exists somewhere in the mesh.
        try pki.makeCA("mesh1-by-ca", subject: "/CN=Mesh 1", issuer: "ca", keyFrom: "mesh1")
        try pki.issue("meshed", ca: "mesh1", subject: "/CN=site-m", email: "dra@site-m.example.com")
        let verifier = try SMIMEVerifier(pemFiles: [pki.path("ca.pem")], signerAddresses: ["dra@site-m.example.com"])

        let everything = try pki.signWithOpenSSL(ldifEntity, signer: "meshed", certificates: crossSigned + ["mesh1-by-ca"])
        var started = Date()
        guard case .failure(.malformedSignature(let reason)) = await outcome(everything, verifier) else {
            Issue.record("a signature carrying \(crossSigned.count + 2) certificates was not refused")
            return
        }
        #expect(reason.contains("at most 8"), "\(reason)")
        print("SignerTrustTests: \(crossSigned.count + 2) certificates refused after \(Date().timeIntervalSince(started)) s")

        // Within the limit: the decoys first, the useful certificate last; one chain is followed.
        let decoys = ["mesh1-by-2", "mesh2-by-3", "mesh3-by-1", "mesh1-by-3", "mesh2-by-1", "mesh3-by-2"]
        let within = try pki.signWithOpenSSL(ldifEntity, signer: "meshed", certificates: decoys + ["mesh1-by-ca"])
        started = Date()
        let result = await outcome(within, verifier)
        print("SignerTrustTests: a mesh of \(decoys.count + 2) certificates decided after \(Date().timeIntervalSince(started)) s")
        guard case .success = result else {
            Issue.record("the chain through the trusted CA was not found: \(result)")
            return
        }
    }
}
