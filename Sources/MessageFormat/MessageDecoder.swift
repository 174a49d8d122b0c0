import Foundation
import LDIF
import MIME
import SMIME
import X509

/// A replication message read from its bytes: checked signature, metadata and LDIF.
public struct DecodedMessage: Sendable {
    public var messageID: String?
    public var from: String?
    public var subject: String?
    public var date: String?
    public var signer: Certificate
    public var message: ReplicationMessage
}

/// Why bytes are not a valid replication message; every case is a reason to quarantine.
public enum DecodeError: Error, Sendable, CustomStringConvertible {
    case mime(MIMEError)
    /// The signed part names a source this agent does not know (or names none).
    case unknownSource(String)
    case signature(SMIMEError)
    case format(ReplicationMessageError)
    /// A message of a kind this decoder does not take (sync takes delta and full messages, publish
    /// takes requests); its Bridgehead-Kind, unverified.
    case otherKind(String)

    public var description: String {
        switch self {
        case .otherKind(let kind): "a message of kind '\(kind)', which this command does not read"
        case .mime(let error): "not a readable message: \(error)"
        case .unknownSource(let reason): reason
        case .signature(let error): "\(error)"
        case .format(let error): "\(error)"
        }
    }
}

/// Decodes and verifies replication messages. With one verifier, any certificate it trusts may sign;
/// with one per source, a message is checked only against the certificate of the source it names, so
/// one source can never sign for another.
public struct MessageDecoder: Sendable {
    public let verifiers: [String: SMIMEVerifier]
    public let anySource: SMIMEVerifier?
    public let limits: MIMELimits
    /// The kinds it reads; another is refused (`otherKind`) before its signature is checked.
    public let kinds: Set<ReplicationMessage.Kind>

    public init(verifier: SMIMEVerifier, limits: MIMELimits = .default, kinds: Set<ReplicationMessage.Kind> = [.delta, .full]) {
        self.verifiers = [:]
        self.anySource = verifier
        self.limits = limits
        self.kinds = kinds
    }

    /// `sources`: by id, the verifier of each sender whose messages are read (a receiver's sources,
    /// or a publisher's peers, whose requests it reads).
    public init(sources: [String: SMIMEVerifier], limits: MIMELimits = .default, kinds: Set<ReplicationMessage.Kind> = [.delta, .full]) {
        self.verifiers = sources
        self.anySource = nil
        self.limits = limits
        self.kinds = kinds
    }

    public func decode(_ bytes: [UInt8], at time: Date = Date()) async throws(DecodeError) -> DecodedMessage {
        let entity: MIMEEntity
        do {
            entity = try MIMEParser.parse(bytes, limits: limits)
        } catch {
            throw .mime(error)
        }
        let verifier = try chooseVerifier((entity.parts.first ?? entity).header)
        let signed: SignedContent
        do {
            signed = try await verifier.verify(entity, at: time)
        } catch {
            throw .signature(error)
        }
        let message: ReplicationMessage
        do {
            message = try ReplicationMessage(entity: signed.content)
        } catch {
            throw .format(error)
        }
        guard kinds.contains(message.kind) else { throw .otherKind(message.kind.rawValue) }
        return DecodedMessage(
            messageID: entity.header["Message-ID"], from: entity.header["From"], subject: entity.header["Subject"],
            date: entity.header["Date"], signer: signed.signer, message: message)
    }

    /// The verifier for a message whose signed part has `signedHeader` (read before verifying, only
    /// to choose the certificate); a kind this decoder does not read is refused first.
    func chooseVerifier(_ signedHeader: MIMEHeader) throws(DecodeError) -> SMIMEVerifier {
        if let kind = signedHeader["Bridgehead-Kind"]?.trimmingCharacters(in: .whitespaces).lowercased(),
            let known = ReplicationMessage.Kind(rawValue: kind), !kinds.contains(known)
        {
            throw .otherKind(kind)
        }
        if let anySource { return anySource }
        // Which source the signed part claims.
        let claimed = signedHeader["Bridgehead-Source"]?.trimmingCharacters(in: .whitespaces)
        guard let claimed, !claimed.isEmpty else { throw .unknownSource("the message names no source (no Bridgehead-Source header)") }
        guard let chosen = verifiers[claimed] else {
            throw .unknownSource("source '\(claimed)' is not configured here (no [[source]] with id = \"\(claimed)\")")
        }
        return chosen
    }
}
