import SwiftASN1
import X509

/// What a detached SignedData (RFC 5652 §5) says about its one signer, read without the content:
/// which digest the signer took of the content, and the signature over the signed attributes that
/// carry that digest. With it, the content can be hashed as it is read (a message is never held
/// whole) and checked against `messageDigest` afterwards.
///
/// The checks are those swift-certificates' `CMS.isValidSignature` makes before it hashes, made
/// stricter where a replication message allows: id-data content only, detached, one signer,
/// signed attributes present (the signature is over them, never over the content directly).
struct SignerInfoView {
    var digest: SigningAlgorithm.Digest
    var signatureAlgorithm: Certificate.SignatureAlgorithm
    /// The SignerInfo's signature: PKCS #1 v1.5 for RSA, a DER ECDSA-Sig-Value for ECDSA.
    var signature: [UInt8]
    /// The signed attributes as signed: their DER with the SET OF tag (RFC 5652 §5.4).
    var signedAttributes: [UInt8]
    /// The `messageDigest` attribute: the digest of the content the signer signed.
    var messageDigest: [UInt8]

    static let signedDataType: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 2]
    static let dataType: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 1]
    static let contentTypeAttribute: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 3]
    static let messageDigestAttribute: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 4]
    static let signingTimeAttribute: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 5]

    /// The digests a SignerInfo may name, by OID.
    static let digests: [ASN1ObjectIdentifier: SigningAlgorithm.Digest] = [
        [2, 16, 840, 1, 101, 3, 4, 2, 1]: .sha256, [2, 16, 840, 1, 101, 3, 4, 2, 2]: .sha384, [2, 16, 840, 1, 101, 3, 4, 2, 3]: .sha512,
    ]

    /// The signature algorithms it may name, by OID, with the digest each implies (after
    /// `SMIMEVerifier.acceptingOpenSSL` has renamed OpenSSL's `rsaEncryption`).
    static let signatures: [ASN1ObjectIdentifier: (Certificate.SignatureAlgorithm, SigningAlgorithm.Digest)] = [
        [1, 2, 840, 113_549, 1, 1, 11]: (.sha256WithRSAEncryption, .sha256),
        [1, 2, 840, 113_549, 1, 1, 12]: (.sha384WithRSAEncryption, .sha384),
        [1, 2, 840, 113_549, 1, 1, 13]: (.sha512WithRSAEncryption, .sha512),
        [1, 2, 840, 10045, 4, 3, 2]: (.ecdsaWithSHA256, .sha256),
        [1, 2, 840, 10045, 4, 3, 3]: (.ecdsaWithSHA384, .sha384),
        [1, 2, 840, 10045, 4, 3, 4]: (.ecdsaWithSHA512, .sha512),
    ]

    // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }
    // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, [0] IMPLICIT certificates?, [1] crls?, signerInfos SET }
    // EncapsulatedContentInfo ::= SEQUENCE { eContentType, [0] EXPLICIT eContent OCTET STRING OPTIONAL }
    // SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] IMPLICIT signedAttrs?, signatureAlgorithm, signature, [1] unsignedAttrs? }
    private init(
        digest: SigningAlgorithm.Digest, signatureAlgorithm: Certificate.SignatureAlgorithm, signature: [UInt8], signedAttributes: [UInt8],
        messageDigest: [UInt8]
    ) {
        self.digest = digest
        self.signatureAlgorithm = signatureAlgorithm
        self.signature = signature
        self.signedAttributes = signedAttributes
        self.messageDigest = messageDigest
    }

    init(_ der: [UInt8]) throws(SMIMEError) {
        do {
            self = try Self.read(der)
        } catch let error as SMIMEError {
            throw error
        } catch {
            throw .malformedSignature("not a CMS SignedData: \(error)")
        }
    }

    private static func read(_ der: [UInt8]) throws -> SignerInfoView {
        let contentInfo = try children(of: BER.parse(der))
        guard contentInfo.count == 2, try ASN1ObjectIdentifier(berEncoded: contentInfo[0]) == signedDataType else {
            throw SMIMEError.malformedSignature("the signature is not a CMS SignedData")
        }
        let wrapped = try children(of: contentInfo[1])
        guard wrapped.count == 1 else { throw SMIMEError.malformedSignature("the SignedData is not wrapped as CMS requires") }
        let fields = try children(of: wrapped[0])
        guard fields.count >= 4 else { throw SMIMEError.malformedSignature("the SignedData lacks fields") }
        let version = try Int(berEncoded: fields[0])
        guard [1, 3, 4].contains(version) else { throw SMIMEError.malformedSignature("SignedData version \(version) is not 1, 3 or 4") }
        let digestAlgorithms = try children(of: fields[1]).map { try algorithm(of: $0) }
        let encapsulated = try children(of: fields[2])
        guard let contentType = encapsulated.first, try ASN1ObjectIdentifier(berEncoded: contentType) == dataType else {
            throw SMIMEError.malformedSignature("the signed content is not of type id-data")
        }
        guard encapsulated.count == 1 else { throw SMIMEError.malformedSignature("the signature carries its content; a detached one is expected") }
        let signerInfos = try children(of: fields[fields.count - 1])
        guard signerInfos.count == 1 else {
            throw SMIMEError.malformedSignature("the signature has \(signerInfos.count) signers; exactly one is accepted")
        }
        let info = try children(of: signerInfos[0])
        guard info.count >= 5 else { throw SMIMEError.malformedSignature("the SignerInfo lacks fields") }
        let digestOID = try algorithm(of: info[2])
        guard let digest = digests[digestOID] else { throw SMIMEError.malformedSignature("digest algorithm \(digestOID) is not supported") }
        guard digestAlgorithms.contains(digestOID) else {
            throw SMIMEError.malformedSignature("the signer's digest algorithm is not among the SignedData's")
        }
        let attributesNode = info[3]
        guard attributesNode.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) else {
            throw SMIMEError.malformedSignature("the signature has no signed attributes")
        }
        let signatureOID = try algorithm(of: info[4])
        guard let (signatureAlgorithm, implied) = signatures[signatureOID] else {
            throw SMIMEError.malformedSignature("signature algorithm \(signatureOID) is not supported")
        }
        guard implied == digest else { throw SMIMEError.malformedSignature("Digest and signature algorithm mismatch") }
        guard info.count > 5 else { throw SMIMEError.malformedSignature("the SignerInfo has no signature") }
        let signature = try ASN1OctetString(berEncoded: info[5])

        // Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue }
        var messageDigest: [UInt8]?
        var contentTypes = 0
        for attribute in try children(of: attributesNode) {
            let parts = try children(of: attribute)
            guard parts.count == 2 else { throw SMIMEError.malformedSignature("a signed attribute is not a type and its values") }
            let type = try ASN1ObjectIdentifier(berEncoded: parts[0])
            let values = try children(of: parts[1])
            if type == messageDigestAttribute {
                guard messageDigest == nil, values.count == 1 else {
                    throw SMIMEError.malformedSignature("the signed attributes hold more than one message digest")
                }
                messageDigest = Array(try ASN1OctetString(berEncoded: values[0]).bytes)
            } else if type == contentTypeAttribute {
                contentTypes += 1
                guard values.count == 1, try ASN1ObjectIdentifier(berEncoded: values[0]) == dataType else {
                    throw SMIMEError.malformedSignature("the signed content-type attribute is not id-data")
                }
            }
        }
        guard let messageDigest else { throw SMIMEError.malformedSignature("Missing message digest from signed attributes") }
        // RFC 5652 §5.3: with signed attributes, exactly one content-type (so that a signature made for
        // another use of the same key cannot be taken for this one).
        guard contentTypes == 1 else {
            throw SMIMEError.malformedSignature("the signed attributes hold \(contentTypes) content-type attributes; exactly one is required")
        }
        // The signature covers the attributes' DER with the SET OF tag, not the [0] IMPLICIT one;
        // re-encoded (a SET OF in DER orders its elements by encoding) as swift-certificates does.
        let elements = try children(of: attributesNode).map { Array($0.encodedBytes) }.sorted { $0.lexicographicallyPrecedes($1) }
        let signedAttributes = [0x31] + DERNode.length(elements.map(\.count).reduce(0, +)) + elements.flatMap { $0 }
        return SignerInfoView(
            digest: digest, signatureAlgorithm: signatureAlgorithm, signature: Array(signature.bytes), signedAttributes: signedAttributes,
            messageDigest: messageDigest)
    }

    private static func children(of node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let nodes) = node.content else { throw SMIMEError.malformedSignature("a CMS field is not constructed") }
        return Array(nodes)
    }

    /// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }: the OID.
    private static func algorithm(of node: ASN1Node) throws -> ASN1ObjectIdentifier {
        guard let first = try children(of: node).first else { throw SMIMEError.malformedSignature("an empty AlgorithmIdentifier") }
        return try ASN1ObjectIdentifier(berEncoded: first)
    }
}
