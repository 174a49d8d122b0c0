import Coding
import Foundation
import MIME
import SwiftASN1
@_spi(CMS) @_spi(FixedExpiryValidationTime) import X509

/// A verified signature: who signed, and the content entity they signed.
public struct SignedContent: Sendable {
    public let signer: Certificate
    public let content: MIMEEntity
}

/// Verifies S/MIME multipart/signed messages (RFC 8551 §3.5.3): a detached CMS SignedData over the
/// exact bytes of the first part, checked against trusted certificates only. The certificates a
/// signature carries help build a chain; they are never trusted by themselves.
///
/// Trust comes in two kinds (docs/message-format.md, "Who may sign"):
/// - **pinned**: an end-entity certificate in the trust file; a signer is accepted when it holds the
///   same public key (and is valid now). Nothing else can sign. (A CA certificate's own key signing
///   directly counts as pinned too: a self-signed certificate is often marked as a CA.)
/// - **through a CA**: a CA certificate in the trust file; the signer must chain to it, and, when
///   `signerAddresses` is given (as `sync` gives each source's addresses), must carry the
///   emailProtection key purpose and one of those addresses in its subjectAltName — so that a CA
///   shared by several sources does not let one sign for another.
///
/// Hostile signatures are bounded (`SignatureLimits`): at most a few embedded certificates, and the
/// chain is built by following issuers one by one among them (never by searching every path), so a
/// mesh of cross-signed certificates costs a handful of signature checks, not an exponential search.
public struct SMIMEVerifier: Sendable {
    /// CA certificates: anchors for chains.
    public let trustRoots: [Certificate]
    /// End-entity certificates: their keys may sign directly.
    public let pinned: [Certificate]
    /// When set, what a signer chained to a CA must carry in its subjectAltName (lower-cased addresses).
    public let signerAddresses: Set<String>?
    public let limits: SignatureLimits
    private let store: CertificateStore

    public init(trustRoots: [Certificate], signerAddresses: Set<String>? = nil, limits: SignatureLimits = .default) {
        self.trustRoots = trustRoots.filter(Self.isAuthority)
        self.pinned = trustRoots.filter { !Self.isAuthority($0) }
        self.signerAddresses = signerAddresses.map { Set($0.map { $0.lowercased() }) }
        self.limits = limits
        self.store = CertificateStore(self.trustRoots)
    }

    /// Reads every certificate in PEM files (a file may hold several).
    public init(pemFiles: [String], signerAddresses: Set<String>? = nil, limits: SignatureLimits = .default) throws(SMIMEError) {
        var roots: [Certificate] = []
        for file in pemFiles { roots += try Self.certificates(inPEMFile: file) }
        self.init(trustRoots: roots, signerAddresses: signerAddresses, limits: limits)
    }

    /// What an administrator should know about this trust: a CA trusts every certificate it issued
    /// (bound to the source only by the signer's addresses), several certificates each trust alone.
    public var notes: [String] {
        var notes: [String] = []
        if !trustRoots.isEmpty {
            let names = trustRoots.map { $0.subject.description }.joined(separator: "; ")
            notes.append(
                "holds a CA certificate (\(names)): any certificate it issued with emailProtection and one of the source's addresses "
                    + "in its subjectAltName may sign; pin the source's own certificate instead to trust one key only")
        }
        if trustRoots.count + pinned.count > 1 {
            notes.append("holds \(trustRoots.count + pinned.count) certificates: each of them may sign")
        }
        return notes
    }

    /// Whether a certificate may issue others (basicConstraints cA, or a self-signed v1 root).
    static func isAuthority(_ certificate: Certificate) -> Bool {
        if let constraints = try? certificate.extensions.basicConstraints {
            if case .isCertificateAuthority = constraints { return true }
            return false
        }
        return certificate.version == .v1 && certificate.subject == certificate.issuer
    }

    /// Every certificate in a PEM file, in order.
    static func certificates(inPEMFile file: String) throws(SMIMEError) -> [Certificate] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .signingFailed("cannot read the certificate file \(file)")
        }
        do {
            return try PEMDocument.parseMultiple(pemString: String(decoding: data, as: UTF8.self))
                .filter { $0.discriminator == "CERTIFICATE" }.map { try Certificate(pemDocument: $0) }
        } catch {
            throw .signingFailed("\(file) holds no readable certificate: \(error)")
        }
    }

    public func verify(_ message: MIMEEntity, at time: Date = Date()) async throws(SMIMEError) -> SignedContent {
        let der = try Self.detachedSignature(type: message.contentType, partCount: message.parts.count) { message.parts[1] }
        let content = message.parts[0].bytes
        let signer = try await verify(signature: der, at: time) { algorithm in
            var hasher = SignedContentHasher(algorithm)
            hasher.update(content)
            return hasher.finalize()
        }
        return SignedContent(signer: signer, content: message.parts[0])
    }

    /// The DER of a multipart/signed message's signature, once its type, protocol and two parts are
    /// checked (RFC 8551 §3.5.3); `signaturePart` gives the second part, parsed.
    public static func detachedSignature(
        type: ContentType, partCount: Int, signaturePart: () throws(SMIMEError) -> MIMEEntity
    ) throws(SMIMEError) -> [UInt8] {
        guard type.mimeType == "multipart/signed" else { throw .notSigned("it is \(type.mimeType)") }
        let expected = ["application/pkcs7-signature", "application/x-pkcs7-signature"]
        guard let proto = type.parameters["protocol"]?.lowercased(), expected.contains(proto) else {
            throw .notSigned("protocol is '\(type.parameters["protocol"] ?? "")', not application/pkcs7-signature")
        }
        guard partCount == 2 else {
            throw .malformedSignature("multipart/signed has \(partCount) parts instead of 2")
        }
        let part = try signaturePart()
        guard expected.contains(part.contentType.mimeType) else {
            throw .malformedSignature("the second part is \(part.contentType.mimeType), not the signature")
        }
        do {
            return try part.decodedBody()
        } catch {
            throw .malformedSignature("the signature part does not decode: \(error.reason)")
        }
    }

    /// Verifies a detached signature (the DER of the signature part) over content the caller hashes:
    /// `contentDigest` is asked for the digest, with the algorithm the signature names, of the
    /// signed entity made canonical (`SignedContentHasher`). So content read from a file can be
    /// hashed as it streams. Returns the signer.
    public func verify(
        signature der: [UInt8], at time: Date = Date(), contentDigest: (SigningAlgorithm.Digest) throws -> [UInt8]
    ) async throws(SMIMEError) -> Certificate {
        guard der.count <= limits.maxSignatureBytes else {
            throw .malformedSignature("the signature is \(der.count) bytes; at most \(limits.maxSignatureBytes) are accepted")
        }
        let bounded = try SignerChain.bound(Self.acceptingOpenSSL(der), anchors: trustRoots, limits: limits)
        let info = try SignerInfoView(bounded.signedData)
        guard let signer = bounded.signer else { throw .malformedSignature("Unable to locate signing certificate") }
        let digest: [UInt8]
        do {
            digest = try contentDigest(info.digest)
        } catch {
            throw .malformedSignature("the signed content cannot be read: \(error)")
        }
        guard digest == info.messageDigest else { throw .tampered("Message digest mismatch") }
        guard signer.publicKey.isValidSignature(info.signature, for: info.signedAttributes, signatureAlgorithm: info.signatureAlgorithm) else {
            throw .tampered("Invalid signature from signing certificate: \(signer.subject)")
        }
        // A configured key (pinned, or a CA's own key signing directly, as a self-signed certificate
        // made with `openssl req -x509` does): the chain is checked against that certificate alone.
        let pinnedSigner = (pinned + trustRoots).first { $0.publicKey == signer.publicKey }
        var verifier = Verifier(rootCertificates: pinnedSigner.map { CertificateStore([$0]) } ?? store) {
            RFC5280Policy(fixedExpiryValidationTime: time)
        }
        switch await verifier.validate(leaf: signer, intermediates: CertificateStore(bounded.chain)) {
        case .validCertificate:
            if pinnedSigner == nil { try checkBinding(signer) }
            return signer
        case .couldNotValidate(let failures):
            if let pinnedSigner {
                // A configured key: the signature was checked with it, and an end-entity certificate
                // cannot anchor a chain in RFC 5280 terms, so it is accepted here. What is trusted is the
                // configured certificate: the one the signature carries is signed by nothing trusted (its
                // dates and names could be anyone's), so the configured one's dates count, and it is the
                // signer reported.
                guard pinnedSigner.notValidBefore <= time, time <= pinnedSigner.notValidAfter else {
                    throw .expiredSigner(
                        "the configured certificate \(pinnedSigner.subject) of the signing key is valid from \(pinnedSigner.notValidBefore) "
                            + "to \(pinnedSigner.notValidAfter); configure its successor")
                }
                return pinnedSigner
            }
            let subject = signer.subject.description
            if signer.notValidAfter < time || signer.notValidBefore > time {
                throw .expiredSigner("\(subject) is valid from \(signer.notValidBefore) to \(signer.notValidAfter)")
            }
            let reasons = failures.map { $0.policyFailureReason.description }
            if reasons.contains(where: { $0.contains("expired") || $0.contains("not yet valid") }) {
                throw .expiredSigner("\(subject): \(reasons.joined(separator: "; "))")
            }
            if reasons.isEmpty, trustRoots.isEmpty, let first = pinned.first {
                // Only pinned certificates: say which one the signer is not.
                throw .untrustedSigner(
                    "\(subject) (serial \(signer.serialNumber)) is not the pinned certificate \(first.subject) (serial \(first.serialNumber))"
                        + (pinned.count > 1 ? " or the \(pinned.count - 1) other(s) pinned" : "") + ": its key differs")
            }
            throw .untrustedSigner(subject + (reasons.isEmpty ? " (no chain to a trusted certificate)" : ": " + reasons.joined(separator: "; ")))
        }
    }

    /// The digest a signature's signer took of the content (nil when the signature cannot be read):
    /// what a caller streaming the content hashes it with.
    public static func digestAlgorithm(ofSignature der: [UInt8]) -> SigningAlgorithm.Digest? {
        try? SignerInfoView(acceptingOpenSSL(der)).digest
    }

    /// What the verifier makes of a signature part's bytes before it checks anything: OpenSSL's
    /// harmless differences removed, the certificates bounded and cut to one chain (none trusted).
    /// For tools and the fuzz target; `verify` does the same.
    public static func boundedSignature(_ der: [UInt8], limits: SignatureLimits = .default) throws(SMIMEError) -> [UInt8] {
        try SignerChain.bound(acceptingOpenSSL(der), anchors: [], limits: limits).signedData
    }

    /// A signer that chains to a CA must be one the CA issued for e-mail signing to this source.
    private func checkBinding(_ signer: Certificate) throws(SMIMEError) {
        guard let signerAddresses else { return }
        let subject = signer.subject.description
        let purposes = (try? signer.extensions.extendedKeyUsage).map(Array.init) ?? []
        guard purposes.contains(.emailProtection) else {
            throw .untrustedSigner("\(subject) is not issued for e-mail signing (no emailProtection extended key usage)")
        }
        var addresses: [String] = []
        for name in (try? signer.extensions.subjectAlternativeNames).map(Array.init) ?? [] {
            if case .rfc822Name(let address) = name { addresses.append(address.lowercased()) }
        }
        guard addresses.contains(where: signerAddresses.contains) else {
            let held = addresses.isEmpty ? "no e-mail address" : addresses.joined(separator: ", ")
            throw .untrustedSigner(
                "\(subject) carries \(held) in its subjectAltName, none of this source's addresses (\(signerAddresses.sorted().joined(separator: ", ")))"
            )
        }
    }

    /// Two harmless differences between what OpenSSL writes and what swift-certificates accepts,
    /// removed before verifying (neither field is covered by the signature, which is over the signed
    /// attributes):
    /// - the SignerInfo's signature algorithm is `rsaEncryption`; swift-certificates wants
    ///   `sha256WithRSAEncryption` (the same PKCS #1 v1.5 signature), so it is renamed after the digest;
    /// - `openssl smime` (PKCS #7) gives the digest algorithms NULL parameters; they are dropped.
    /// Only the SignedData's digestAlgorithms and its SignerInfos are touched, never the certificates.
    static func acceptingOpenSSL(_ der: [UInt8]) -> [UInt8] {
        // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }
        // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, [0] certificates?, [1] crls?, signerInfos SET }
        // SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature, … }
        guard let contentInfo = try? BER.parse(der), case .constructed(let top) = contentInfo.content,
            let wrapper = Array(top).dropFirst().first, case .constructed(let wrapped) = wrapper.content,
            let signedData = Array(wrapped).first, case .constructed(let fields) = signedData.content
        else { return der }
        var signedDataFields = Array(fields).map { Array($0.encodedBytes) }
        let children = Array(fields)
        guard children.count >= 4 else { return der }
        // digestAlgorithms
        if case .constructed(let algorithms) = children[1].content {
            signedDataFields[1] = DERNode.rebuild(children[1], Array(algorithms).map { Self.withoutNullParameters($0) })
        }
        // signerInfos
        let last = children.count - 1
        if case .constructed(let infos) = children[last].content {
            signedDataFields[last] = DERNode.rebuild(children[last], Array(infos).map(Self.normalizedSignerInfo))
        }
        let newSignedData =
            DERNode.header(of: signedData, contentLength: signedDataFields.map(\.count).reduce(0, +)) + signedDataFields.flatMap { $0 }
        let newWrapper = DERNode.header(of: wrapper, contentLength: newSignedData.count) + newSignedData
        let first = Array(Array(top)[0].encodedBytes)
        return DERNode.header(of: contentInfo, contentLength: first.count + newWrapper.count) + first + newWrapper
    }

    // id-sha256, id-sha384, id-sha512 end in 1, 2, 3; sha256/384/512WithRSAEncryption end in 11, 12, 13.
    private static let rsaEncryption: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    private static let hashToRSA: [UInt8: UInt8] = [0x01: 0x0B, 0x02: 0x0C, 0x03: 0x0D]

    /// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters NULL } → SEQUENCE { algorithm }
    static func withoutNullParameters(_ node: ASN1Node) -> [UInt8] {
        guard case .constructed(let parts) = node.content else { return Array(node.encodedBytes) }
        let items = Array(parts)
        guard items.count == 2, items[1].identifier == .null else { return Array(node.encodedBytes) }
        return DERNode.rebuild(node, [Array(items[0].encodedBytes)])
    }

    static func normalizedSignerInfo(_ node: ASN1Node) -> [UInt8] {
        guard case .constructed(let parts) = node.content else { return Array(node.encodedBytes) }
        let items = Array(parts)
        guard items.count >= 5 else { return Array(node.encodedBytes) }
        var encoded = items.map { Array($0.encodedBytes) }
        encoded[2] = withoutNullParameters(items[2])
        var hash: UInt8?
        if case .constructed(let digest) = items[2].content, let oid = Array(digest).first, case .primitive(let bytes) = oid.content {
            hash = bytes.last
        }
        let algorithmIndex = items[3].identifier == .sequence ? 3 : 4
        if let hash, let replacement = hashToRSA[hash], case .constructed(let algorithm) = items[algorithmIndex].content,
            let oid = Array(algorithm).first, case .primitive(let bytes) = oid.content, Array(bytes) == rsaEncryption
        {
            var patched = Array(items[algorithmIndex].encodedBytes)
            let offset = bytes.endIndex - 1 - items[algorithmIndex].encodedBytes.startIndex
            patched[offset] = replacement
            encoded[algorithmIndex] = patched
        }
        return DERNode.rebuild(node, encoded)
    }
}

/// Re-emits constructed nodes whose children changed, with DER definite lengths.
enum DERNode {
    /// The node's identifier octet followed by the length of `contentLength`.
    static func header(of node: ASN1Node, contentLength: Int) -> [UInt8] {
        [node.encodedBytes[node.encodedBytes.startIndex]] + length(contentLength)
    }

    static func rebuild(_ node: ASN1Node, _ children: [[UInt8]]) -> [UInt8] {
        header(of: node, contentLength: children.map(\.count).reduce(0, +)) + children.flatMap { $0 }
    }

    static func length(_ count: Int) -> [UInt8] { DERLength.encode(count) }
}

/// S/MIME signs the canonical form of an entity: every line ended by CRLF (RFC 8551 §3.1.1).
/// Messages kept in a Maildir often have bare LFs; this restores the form that was signed.
public struct SMIMECanonical {
    /// The last byte of the previous piece (a LF at the start of the next one follows it).
    private var previous: UInt8 = 0

    public init() {}

    /// Bytes made canonical in one piece.
    public static func crlf(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var canonical = SMIMECanonical()
        return canonical.next(bytes)
    }

    /// The next piece of a stream made canonical: a CR put before each LF that has none.
    public mutating func next(_ bytes: some Collection<UInt8>) -> [UInt8] {
        bytes.withContiguousStorageIfAvailable { next(buffer: $0) } ?? Array(bytes).withUnsafeBufferPointer { next(buffer: $0) }
    }

    private mutating func next(buffer input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count + input.count / 32 + 1)
        var start = 0
        var before = previous
        for index in 0..<input.count {
            let byte = input[index]
            if byte == 0x0A, before != 0x0D {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<index]))
                out.append(0x0D)
                start = index
            }
            before = byte
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: input[start...]))
        previous = before
        return out
    }
}
