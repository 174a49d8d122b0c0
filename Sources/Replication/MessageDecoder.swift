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
    case signature(SMIMEError)
    case format(ReplicationMessageError)

    public var description: String {
        switch self {
        case .mime(let error): "not a readable message: \(error)"
        case .signature(let error): "\(error)"
        case .format(let error): "\(error)"
        }
    }
}

/// Decodes and verifies replication messages against a set of trusted certificates.
public struct MessageDecoder: Sendable {
    public let verifier: SMIMEVerifier
    public let limits: MIMELimits

    public init(verifier: SMIMEVerifier, limits: MIMELimits = .default) {
        self.verifier = verifier
        self.limits = limits
    }

    public func decode(_ bytes: [UInt8], at time: Date = Date()) async throws(DecodeError) -> DecodedMessage {
        let entity: MIMEEntity
        do {
            entity = try MIMEParser.parse(bytes, limits: limits)
        } catch {
            throw .mime(error)
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
