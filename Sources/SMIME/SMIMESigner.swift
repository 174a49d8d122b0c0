import Coding
import Foundation
import MIME
import SwiftASN1
@_spi(CMS) import X509

/// Signs an entity as S/MIME multipart/signed (detached CMS, sha-256), as `openssl cms -sign` does:
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
        let canonical = SMIMECanonical.crlf(content)
        let signature: [UInt8]
        do {
            signature = try CMS.sign(
                canonical, additionalIntermediateCertificates: intermediates, certificate: certificate, privateKey: privateKey,
                signingTime: signingTime, detached: true)
        } catch {
            throw .signingFailed("\(error)")
        }
        let boundary = "----bridgehead-" + UUID().uuidString.lowercased()
        var out = Array(
            """
            Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r
             boundary="\(boundary)"\r
            \r
            This is an S/MIME signed message\r
            \r
            --\(boundary)\r

            """.utf8)
        // The CRLF before a delimiter belongs to the delimiter, not to the signed content.
        out += canonical + [0x0D, 0x0A]
        out += Array(
            """
            --\(boundary)\r
            Content-Type: application/pkcs7-signature; name="smime.p7s"\r
            Content-Transfer-Encoding: base64\r
            Content-Disposition: attachment; filename="smime.p7s"\r
            \r

            """.utf8)
        let encoded = Array(Base64.encode(signature).utf8)
        var index = 0
        while index < encoded.count {
            out += encoded[index..<min(index + 76, encoded.count)] + [0x0D, 0x0A]
            index += 76
        }
        out += Array("\r\n--\(boundary)--\r\n".utf8)
        return out
    }
}
