/// Why a message's signature was not accepted. Each case is its own reason in the quarantine.
public enum SMIMEError: Error, Sendable, Hashable {
    /// The message is not multipart/signed with an S/MIME (PKCS #7) signature part.
    case notSigned(String)
    /// The signature part is missing or cannot be read as CMS.
    case malformedSignature(String)
    /// The signed content does not match the signature: it was changed after signing.
    case tampered(String)
    /// The signer's certificate does not lead to any trusted certificate.
    case untrustedSigner(String)
    /// The signer's certificate (or one on its chain) is outside its validity period.
    case expiredSigner(String)
    /// A key or certificate file could not be used for signing.
    case signingFailed(String)
}

extension SMIMEError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notSigned(let detail): "not an S/MIME signed message: \(detail)"
        case .malformedSignature(let detail): "the signature cannot be read: \(detail)"
        case .tampered(let detail): "the content was changed after it was signed: \(detail)"
        case .untrustedSigner(let detail): "the signer is not trusted: \(detail)"
        case .expiredSigner(let detail): "the signer's certificate is not valid now: \(detail)"
        case .signingFailed(let detail): "cannot sign: \(detail)"
        }
    }
}
