import SwiftASN1
import X509

/// How much of a signature a verifier reads before it refuses it.
public struct SignatureLimits: Sendable, Hashable {
    /// Certificates a signature may carry (a signer and its intermediates need two or three).
    public var maxCertificates: Int
    /// Certificates from the signer up to (not counting) the trusted CA.
    public var maxChainDepth: Int
    /// Bytes of the decoded signature (PKCS #7) part.
    public var maxSignatureBytes: Int

    public init(maxCertificates: Int = 8, maxChainDepth: Int = 6, maxSignatureBytes: Int = 256 * 1024) {
        self.maxCertificates = maxCertificates
        self.maxChainDepth = maxChainDepth
        self.maxSignatureBytes = maxSignatureBytes
    }

    public static let `default` = SignatureLimits()
}

/// The certificates a signature carries, cut down to the one chain that can matter: the shortest
/// path from the signer, through embedded certificates each issued (name and signature) by the next,
/// to one a trusted CA issued. Everything else is dropped before the chain is validated, so path
/// building never sees more than that chain: a cross-signed mesh of certificates cannot make it
/// search (an unbounded search took 28 s for 8 subjects in a review, and grew exponentially).
enum SignerChain {
    struct Bounded {
        /// The SignedData (ContentInfo) with only the chain's certificates.
        var signedData: [UInt8]
        /// The signer's certificate, when the signature names one it carries.
        var signer: Certificate?
        /// The certificates kept: the signer and those on its way to a trusted CA.
        var chain: [Certificate] = []
    }

    // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }
    // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, [0] IMPLICIT certificates?, [1] crls?, signerInfos SET }
    // SignerInfo ::= SEQUENCE { version, sid SignerIdentifier, … }
    // SignerIdentifier ::= CHOICE { issuerAndSerialNumber SEQUENCE { issuer Name, serialNumber INTEGER },
    //                               subjectKeyIdentifier [0] IMPLICIT OCTET STRING }
    static func bound(_ der: [UInt8], anchors: [Certificate], limits: SignatureLimits) throws(SMIMEError) -> Bounded {
        guard let contentInfo = try? BER.parse(der), case .constructed(let top) = contentInfo.content,
            let wrapper = Array(top).dropFirst().first, case .constructed(let wrapped) = wrapper.content,
            let signedData = Array(wrapped).first, case .constructed(let fields) = signedData.content
        else { return Bounded(signedData: der, signer: nil) }  // not ours to judge: CMS parsing says what is wrong
        let children = Array(fields)
        guard let certificatesIndex = children.firstIndex(where: { $0.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) }),
            case .constructed(let certificateNodes) = children[certificatesIndex].content
        else { return Bounded(signedData: der, signer: nil) }
        let nodes = Array(certificateNodes)
        guard nodes.count <= limits.maxCertificates else {
            throw .malformedSignature("it carries \(nodes.count) certificates; at most \(limits.maxCertificates) are accepted")
        }
        var embedded: [(certificate: Certificate, bytes: ArraySlice<UInt8>)] = []
        for node in nodes {
            // Attribute certificates and other choices are not ours; they are dropped.
            guard let certificate = try? Certificate(derEncoded: Array(node.encodedBytes)) else { continue }
            embedded.append((certificate, node.encodedBytes))
        }
        guard let signerInfos = children.last, case .constructed(let infos) = signerInfos.content, let info = Array(infos).first,
            case .constructed(let infoFields) = info.content, let sid = Array(infoFields).dropFirst().first,
            let signerIndex = embedded.firstIndex(where: { matches(sid, $0.certificate) })
        else { return Bounded(signedData: der, signer: nil) }

        // The shortest way from the signer to a certificate a trusted CA issued, among the embedded
        // certificates (breadth first: each is visited once, so at most n² signature checks for n ≤
        // maxCertificates). Without one, the signer alone is kept (and validation says it is untrusted).
        var previous: [Int: Int] = [signerIndex: signerIndex]
        var queue = [signerIndex]
        var reached: Int?
        while !queue.isEmpty {
            let node = queue.removeFirst()
            let certificate = embedded[node].certificate
            if anchors.contains(where: { $0 == certificate || issued(certificate, by: $0) }) {
                reached = node
                break
            }
            for candidate in embedded.indices where previous[candidate] == nil && issued(certificate, by: embedded[candidate].certificate) {
                previous[candidate] = node
                queue.append(candidate)
            }
        }
        var chain = [signerIndex]
        if var node = reached {
            var path: [Int] = []
            while node != signerIndex {
                path.append(node)
                node = previous[node] ?? signerIndex
            }
            if path.count <= limits.maxChainDepth { chain += path.reversed() }
        }
        var rebuilt = children.map { Array($0.encodedBytes) }
        // DER orders a SET OF by encoding.
        let kept = chain.map { Array(embedded[$0].bytes) }.sorted { $0.lexicographicallyPrecedes($1) }
        rebuilt[certificatesIndex] = DERNode.rebuild(children[certificatesIndex], kept)
        let newSignedData = DERNode.header(of: signedData, contentLength: rebuilt.map(\.count).reduce(0, +)) + rebuilt.flatMap { $0 }
        let newWrapper = DERNode.header(of: wrapper, contentLength: newSignedData.count) + newSignedData
        let first = Array(Array(top)[0].encodedBytes)
        let bytes = DERNode.header(of: contentInfo, contentLength: first.count + newWrapper.count) + first + newWrapper
        return Bounded(signedData: bytes, signer: embedded[signerIndex].certificate, chain: chain.map { embedded[$0].certificate })
    }

    /// Whether `issuer` is named as the issuer of `certificate` and its key verifies it.
    static func issued(_ certificate: Certificate, by issuer: Certificate) -> Bool {
        issuer.subject == certificate.issuer && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// Whether the SignerIdentifier names `certificate`.
    static func matches(_ sid: ASN1Node, _ certificate: Certificate) -> Bool {
        if sid.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific), case .primitive(let keyID) = sid.content {
            guard let identifier = try? certificate.extensions.subjectKeyIdentifier else { return false }
            return Array(identifier.keyIdentifier) == Array(keyID)
        }
        guard case .constructed(let parts) = sid.content else { return false }
        let items = Array(parts)
        // The serial is compared as a number, read the way the certificate's was: DER puts a 0x00
        // in front of a serial whose top bit is set, and swift-certificates keeps it without.
        guard items.count == 2, let issuer = try? DistinguishedName(derEncoded: items[0]),
            let serial = try? ArraySlice<UInt8>(derEncoded: items[1])
        else { return false }
        return certificate.issuer == issuer && certificate.serialNumber == Certificate.SerialNumber(bytes: serial)
    }
}
