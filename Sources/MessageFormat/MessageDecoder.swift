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

    public var description: String {
        switch self {
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

    public init(verifier: SMIMEVerifier, limits: MIMELimits = .default) {
        self.verifiers = [:]
        self.anySource = verifier
        self.limits = limits
    }

    public init(sources: [String: SMIMEVerifier], limits: MIMELimits = .default) {
        self.verifiers = sources
        self.anySource = nil
        self.limits = limits
    }

    public func decode(_ bytes: [UInt8], at time: Date = Date()) async throws(DecodeError) -> DecodedMessage {
        let entity: MIMEEntity
        do {
            entity = try MIMEParser.parse(bytes, limits: limits)
        } catch {
            throw .mime(error)
        }
        let verifier: SMIMEVerifier
        if let anySource {
            verifier = anySource
        } else {
            // Which source the signed part claims (read before verifying only to choose the certificate).
            let claimed = (entity.parts.first ?? entity).header["Bridgehead-Source"]?.trimmingCharacters(in: .whitespaces)
            guard let claimed, !claimed.isEmpty else { throw .unknownSource("the message names no source (no Bridgehead-Source header)") }
            guard let chosen = verifiers[claimed] else {
                throw .unknownSource("source '\(claimed)' is not configured here (no [[source]] with id = \"\(claimed)\")")
            }
            verifier = chosen
        }
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
        return DecodedMessage(
            messageID: entity.header["Message-ID"], from: entity.header["From"], subject: entity.header["Subject"],
            date: entity.header["Date"], signer: signed.signer, message: message)
    }
}
