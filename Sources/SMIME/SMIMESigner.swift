import Coding
import Foundation
import MIME
import SwiftASN1
@_spi(CMS) import X509

/// Signs an entity as S/MIME multipart/signed (detached CMS), as `openssl cms -sign` does:
/// the signer's certificate is embedded and the signed attributes carry the content type, the
/// message digest and the signing time.
public struct SMIMESigner: Sendable {
    public let certificate: Certificate
    public let privateKey: Certificate.PrivateKey
    public let intermediates: [Certificate]

    public init(certificate: Certificate, privateKey: Certificate.PrivateKey, intermediates: [Certificate] = []) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.intermediates = intermediates
    }

    /// Reads the certificate (and any intermediates after it) and the key from PEM files.
    public init(certificateFile: String, keyFile: String) throws(SMIMEError) {
        let certificates = try SMIMEVerifier.certificates(inPEMFile: certificateFile)
        guard let keyData = FileManager.default.contents(atPath: keyFile) else { throw .signingFailed("cannot read \(keyFile)") }
        do {
            guard let first = certificates.first else { throw SMIMEError.signingFailed("\(certificateFile) holds no certificate") }
            let key = try Certificate.PrivateKey(pemEncoded: String(decoding: keyData, as: UTF8.self))
            guard key.publicKey == first.publicKey else {
                throw SMIMEError.signingFailed("the key in \(keyFile) does not belong to the certificate in \(certificateFile)")
            }
            guard SigningAlgorithm(for: first.publicKey) != nil else {
                throw SMIMEError.signingFailed(
                    "the key in \(keyFile) is neither RSA nor ECDSA (P-256, P-384, P-521); "
                        + "OpenSSL's S/MIME cannot verify other keys (Ed25519), so make an RSA or ECDSA key")
            }
            self.init(certificate: first, privateKey: key, intermediates: Array(certificates.dropFirst()))
        } catch let error as SMIMEError {
            throw error
        } catch {
            throw .signingFailed("\(certificateFile) / \(keyFile): \(error)")
        }
    }

    /// The multipart/signed entity (header and body) that carries `content` — an entity of its own,
    /// header and body — and its signature. Line ends of `content` are made CRLF first.
    public func sign(_ content: [UInt8], signingTime: Date = Date()) throws(SMIMEError) -> [UInt8] {
        var writer = SignedEntityWriter(signer: self)
        var out = writer.header()
        out += writer.content(content)
        out += try writer.finish(signingTime: signingTime)
        return out
    }
}
