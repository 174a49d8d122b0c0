import Coding
import Crypto
import Foundation
import SwiftASN1
@_spi(CMS) import X509
import _CryptoExtras

/// Writes an S/MIME multipart/signed entity piece by piece, so that a message of any size is signed
/// without being held: `header()`, then the signed content in chunks through `content(_:)` (made
/// CRLF and hashed on the way), then `finish(signingTime:)` for the closing delimiter and the
/// detached CMS signature, whose signed attributes carry the digest of everything `content` saw. The
/// caller writes each returned piece where it wants (a file, memory, nowhere in a dry run).
public struct SignedEntityWriter {
    public let signer: SMIMESigner
    public let boundary: String
    private var hasher: SignedContentHasher
    /// Bytes of signed content so far (after CRLF canonicalisation).
    public var contentBytes: Int { hasher.count }

    public init(signer: SMIMESigner, boundary: String = "----bridgehead-" + UUID().uuidString.lowercased()) {
        self.signer = signer
        self.boundary = boundary
        self.hasher = SignedContentHasher(signer.algorithm.digest)
    }

    /// The multipart/signed header, the preamble and the first delimiter.
    public func header() -> [UInt8] {
        Array(
            """
            Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=\(signer.algorithm.micalg);\r
             boundary="\(boundary)"\r
            \r
            This is an S/MIME signed message\r
            \r
            --\(boundary)\r

            """.utf8)
    }

    /// The next piece of the signed entity (its header, then its body), bare LFs made CRLF; the
    /// result is what goes into the message, and what the signature covers.
    public mutating func content(_ bytes: some Collection<UInt8>) -> [UInt8] {
        hasher.next(bytes)
    }

    /// The closing delimiter of the signed part, the signature part and the final delimiter.
    public func finish(signingTime: Date = Date()) throws(SMIMEError) -> [UInt8] {
        let signature = try signer.detachedSignature(digest: hasher.finalize(), signingTime: signingTime)
        // The CRLF before a delimiter belongs to the delimiter, not to the signed content.
        var out = Array(
            """
            \r
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

/// The signature and digest algorithms a key signs with, and the multipart/signed `micalg` name.
public struct SigningAlgorithm: Sendable, Hashable {
    public enum Digest: Sendable, Hashable {
        case sha256, sha384, sha512
    }

    public var signature: Certificate.SignatureAlgorithm
    public var digest: Digest

    public var micalg: String {
        switch digest {
        case .sha256: "sha-256"
        case .sha384: "sha-384"
        case .sha512: "sha-512"
        }
    }

    /// What `openssl cms -sign` picks for a key: SHA-256 for RSA and P-256, the curve's own size for
    /// P-384 and P-521. Nil for any other key: Ed25519 is left out because OpenSSL 3.0 (Debian 12)
    /// cannot verify an Ed25519 CMS signature ("eddsa_digest_signverify_init: invalid digest").
    public init?(for key: Certificate.PublicKey) {
        if P256.Signing.PublicKey(key) != nil {
            self.init(signature: .ecdsaWithSHA256, digest: .sha256)
        } else if P384.Signing.PublicKey(key) != nil {
            self.init(signature: .ecdsaWithSHA384, digest: .sha384)
        } else if P521.Signing.PublicKey(key) != nil {
            self.init(signature: .ecdsaWithSHA512, digest: .sha512)
        } else if _RSA.Signing.PublicKey(key) != nil {
            self.init(signature: .sha256WithRSAEncryption, digest: .sha256)
        } else {
            return nil
        }
    }

    init(signature: Certificate.SignatureAlgorithm, digest: Digest) {
        self.signature = signature
        self.digest = digest
    }
}

/// The digest S/MIME takes of a signed entity, a piece at a time: each piece made canonical (bare LFs
/// made CRLF, across piece boundaries too), then hashed. The writer signs it; the verifier compares
/// it with the digest the signer signed.
public struct SignedContentHasher {
    private var canonical = SMIMECanonical()
    private var digest: ContentDigest
    /// Canonical bytes hashed so far.
    public private(set) var count = 0

    public init(_ algorithm: SigningAlgorithm.Digest) { digest = ContentDigest(algorithm) }

    /// Hashes the next piece; returns it made canonical.
    @discardableResult
    public mutating func next(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let out = canonical.next(bytes)
        digest.update(out)
        count += out.count
        return out
    }

    /// Hashes the next piece, however large, made canonical a megabyte at a time (never a second
    /// copy of the whole).
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let end = min(index + (1 << 20), bytes.endIndex)
            next(bytes[index..<end])
            index = end
        }
    }

    public func finalize() -> [UInt8] { digest.finalize() }
}

/// A running hash of the signed content.
struct ContentDigest {
    private enum State {
        case sha256(SHA256)
        case sha384(SHA384)
        case sha512(SHA512)
    }

    private var state: State

    init(_ kind: SigningAlgorithm.Digest) {
        switch kind {
        case .sha256: state = .sha256(SHA256())
        case .sha384: state = .sha384(SHA384())
        case .sha512: state = .sha512(SHA512())
        }
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            switch state {
            case .sha256(var hash):
                hash.update(bufferPointer: buffer)
                state = .sha256(hash)
            case .sha384(var hash):
                hash.update(bufferPointer: buffer)
                state = .sha384(hash)
            case .sha512(var hash):
                hash.update(bufferPointer: buffer)
                state = .sha512(hash)
            }
        }
    }

    func finalize() -> [UInt8] {
        switch state {
        case .sha256(let hash): Array(hash.finalize())
        case .sha384(let hash): Array(hash.finalize())
        case .sha512(let hash): Array(hash.finalize())
        }
    }
}

extension SMIMESigner {
    /// The algorithms this signer's key signs with.
    public var algorithm: SigningAlgorithm {
        // The initialisers refuse a key without one.
        SigningAlgorithm(for: certificate.publicKey) ?? SigningAlgorithm(signature: .sha256WithRSAEncryption, digest: .sha256)
    }

    /// A detached CMS SignedData (RFC 5652) over content whose digest is given: signed attributes
    /// content-type (data), signing-time and message-digest, signed with the key; the certificate
    /// and intermediates embedded. swift-certificates builds the SignedData around the signature;
    /// the signed attributes, which it only writes when it hashes the content itself, are put into
    /// the SignerInfo here (`[0] IMPLICIT`, between digestAlgorithm and signatureAlgorithm).
    func detachedSignature(digest: [UInt8], signingTime: Date) throws(SMIMEError) -> [UInt8] {
        do {
            let algorithm = self.algorithm
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(identifier: "UTC")!
            let parts = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: signingTime)
            let time = try UTCTime(
                year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1, hours: parts.hour ?? 0, minutes: parts.minute ?? 0,
                seconds: parts.second ?? 0)
            let attributes = [
                SignedAttribute(type: SignerInfoView.contentTypeAttribute, value: try ASN1Any(erasing: SignerInfoView.dataType)),
                SignedAttribute(type: SignerInfoView.signingTimeAttribute, value: try ASN1Any(erasing: time)),
                SignedAttribute(
                    type: SignerInfoView.messageDigestAttribute, value: try ASN1Any(erasing: ASN1OctetString(contentBytes: digest[...]))),
            ]
            var coder = DER.Serializer()
            try coder.serializeSetOf(attributes)
            // RFC 5652 §5.4: the signature covers the DER of the attributes with the SET OF tag.
            let signed = coder.serializedBytes
            let signature = try privateKey.sign(bytes: signed, signatureAlgorithm: algorithm.signature).rawRepresentation
            let skeleton = try CMS.sign(
                signatureBytes: ASN1OctetString(contentBytes: signature[...]), signatureAlgorithm: algorithm.signature,
                additionalIntermediateCertificates: intermediates, certificate: certificate)
            return try Self.inserting([0xA0] + signed.dropFirst(), intoSignerInfoOf: skeleton)
        } catch let error as SMIMEError {
            throw error
        } catch {
            throw .signingFailed("\(error)")
        }
    }

    /// ContentInfo { contentType, [0] { SignedData { …, signerInfos SET { SignerInfo { version, sid,
    /// digestAlgorithm, ▶ here ◀, signatureAlgorithm, signature } } } } }
    static func inserting(_ attributes: [UInt8], intoSignerInfoOf contentInfo: [UInt8]) throws -> [UInt8] {
        func children(_ node: ASN1Node) throws -> [ASN1Node] {
            guard case .constructed(let nodes) = node.content else { throw SMIMEError.signingFailed("unexpected CMS structure") }
            return Array(nodes)
        }
        func rebuild(_ node: ASN1Node, _ children: [ASN1Node], replacing index: Int, with part: [UInt8]) -> [UInt8] {
            var coder = DER.Serializer()
            coder.appendConstructedNode(identifier: node.identifier) { coder in
                for (position, child) in children.enumerated() {
                    if position == index { coder.serializeRawBytes(part) } else { coder.serialize(child) }
                }
            }
            return coder.serializedBytes
        }
        let root = try DER.parse(contentInfo)
        let rootChildren = try children(root)
        guard rootChildren.count == 2 else { throw SMIMEError.signingFailed("unexpected CMS ContentInfo") }
        let explicit = rootChildren[1]
        let signedData = try children(explicit)
        guard let signedDataNode = signedData.first else { throw SMIMEError.signingFailed("unexpected CMS content") }
        let fields = try children(signedDataNode)
        guard let signerInfosNode = fields.last else { throw SMIMEError.signingFailed("no SignerInfos") }
        let signerInfos = try children(signerInfosNode)
        guard signerInfos.count == 1 else { throw SMIMEError.signingFailed("expected one SignerInfo") }
        let signerFields = try children(signerInfos[0])
        guard signerFields.count == 5 else { throw SMIMEError.signingFailed("unexpected SignerInfo") }
        var coder = DER.Serializer()
        coder.appendConstructedNode(identifier: signerInfos[0].identifier) { coder in
            for (position, child) in signerFields.enumerated() {
                coder.serialize(child)
                if position == 2 { coder.serializeRawBytes(attributes) }
            }
        }
        let signerInfo = coder.serializedBytes
        let newSignerInfos = rebuild(signerInfosNode, signerInfos, replacing: 0, with: signerInfo)
        let newSignedData = rebuild(signedDataNode, fields, replacing: fields.count - 1, with: newSignerInfos)
        let newExplicit = rebuild(explicit, signedData, replacing: 0, with: newSignedData)
        return rebuild(root, rootChildren, replacing: 1, with: newExplicit)
    }
}

/// Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }, one value.
private struct SignedAttribute: DERSerializable {
    var type: ASN1ObjectIdentifier
    var value: ASN1Any

    func serialize(into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(type)
            try coder.serializeSetOf([value])
        }
    }
}
