import Foundation
import SMIME

extension Configuration {
    /// Checks every file the configuration names, so that a mistake is found when the file is loaded
    /// and not halfway through a run: secret files readable, TLS files readable, each source's
    /// certificate readable, parseable and binding a signer to that source (`verifiers`).
    public mutating func checkFiles() throws(ConfigurationError) {
        if let file = ldap.passwordFile { _ = try secret(file, key: "ldap.password_file") }
        if let file = mail?.imapPasswordFile { _ = try secret(file, key: "mail.imap_password_file") }
        if let file = publish?.transport.smtpPasswordFile { _ = try secret(file, key: "publish.smtp_password_file") }
        if let file = requests?.transport.smtpPasswordFile { _ = try secret(file, key: "agent.smtp_password_file") }
        let tlsFiles = [
            ("ldap.ca_file", ldap.caFile), ("ldap.certificate_file", ldap.certificateFile), ("ldap.key_file", ldap.keyFile),
            ("mail.imap_ca_file", mail?.imapCAFile),
        ]
        for case (let key, let file?) in tlsFiles where !FileManager.default.isReadableFile(atPath: file) {
            throw ConfigurationError(file: path, key: key, reason: "cannot read '\(file)' (does it exist, and may this user read it?)")
        }
        if let publish {
            do {
                signer = try SMIMESigner(certificateFile: publish.signCertificate, keyFile: publish.signKey)
            } catch {
                throw ConfigurationError(file: path, key: "publish.sign_cert", reason: "\(error)")
            }
        }
        if let requests {
            do {
                requestSigner = try SMIMESigner(certificateFile: requests.signCertificate, keyFile: requests.signKey)
            } catch {
                throw ConfigurationError(file: path, key: "agent.sign_cert", reason: "\(error)")
            }
        }
        for (index, source) in sources.enumerated() {
            guard let certificate = source.certificate else { continue }
            verifiers[source.id] = try Self.verifier(
                signerAddresses: source.signerAddresses, certificate: certificate, file: path, key: "source[\(index + 1)].certificate")
        }
        for (index, peer) in peers.enumerated() {
            peerVerifiers[peer.id] = try Self.verifier(
                signerAddresses: Set(peer.mailAddresses), certificate: peer.certificate, file: path, key: "peer[\(index + 1)].certificate")
        }
    }

    /// The verifier for a source's (or a peer's) certificate file: its own certificate pinned, or a CA
    /// whose signers must carry one of its addresses.
    static func verifier(signerAddresses: Set<String>, certificate: String, file: String, key: String) throws(ConfigurationError) -> SMIMEVerifier {
        let verifier: SMIMEVerifier
        do {
            verifier = try SMIMEVerifier(pemFiles: [certificate], signerAddresses: signerAddresses)
        } catch {
            throw ConfigurationError(file: file, key: key, reason: "\(certificate): \(error)")
        }
        if verifier.trustRoots.isEmpty, verifier.pinned.isEmpty {
            throw ConfigurationError(file: file, key: key, reason: "\(certificate) holds no certificate")
        }
        if !verifier.trustRoots.isEmpty, signerAddresses.isEmpty {
            throw ConfigurationError(
                file: file, key: key,
                reason: "\(certificate) is a CA certificate, which trusts everything it issued; "
                    + "list the source's e-mail addresses (addresses = [\"dra@site.example.com\"]): a signer must carry one of them "
                    + "in its subjectAltName, or pin the source's own certificate instead")
        }
        return verifier
    }
}
