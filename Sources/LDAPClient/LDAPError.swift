/// An LDAP result code (RFC 4511 §4.1.9, plus libldap's negative client-side codes), with its name.
public struct ResultCode: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let success = ResultCode(rawValue: 0)
    public static let operationsError = ResultCode(rawValue: 1)
    public static let protocolError = ResultCode(rawValue: 2)
    public static let timeLimitExceeded = ResultCode(rawValue: 3)
    public static let sizeLimitExceeded = ResultCode(rawValue: 4)
    public static let adminLimitExceeded = ResultCode(rawValue: 11)
    public static let compareFalse = ResultCode(rawValue: 5)
    public static let compareTrue = ResultCode(rawValue: 6)
    public static let noSuchAttribute = ResultCode(rawValue: 16)
    public static let undefinedAttributeType = ResultCode(rawValue: 17)
    public static let constraintViolation = ResultCode(rawValue: 19)
    public static let attributeOrValueExists = ResultCode(rawValue: 20)
    public static let invalidAttributeSyntax = ResultCode(rawValue: 21)
    public static let noSuchObject = ResultCode(rawValue: 32)
    public static let invalidDNSyntax = ResultCode(rawValue: 34)
    public static let invalidCredentials = ResultCode(rawValue: 49)
    public static let insufficientAccessRights = ResultCode(rawValue: 50)
    public static let busy = ResultCode(rawValue: 51)
    public static let unavailable = ResultCode(rawValue: 52)
    public static let unwillingToPerform = ResultCode(rawValue: 53)
    public static let namingViolation = ResultCode(rawValue: 64)
    public static let objectClassViolation = ResultCode(rawValue: 65)
    public static let notAllowedOnNonLeaf = ResultCode(rawValue: 66)
    public static let entryAlreadyExists = ResultCode(rawValue: 68)
    public static let other = ResultCode(rawValue: 80)
    public static let assertionFailed = ResultCode(rawValue: 122)
    public static let noOperation = ResultCode(rawValue: 0x410E)  // OpenLDAP's No-Op answer, 16654
    public static let serverDown = ResultCode(rawValue: -1)
    public static let localError = ResultCode(rawValue: -2)
    public static let decodingError = ResultCode(rawValue: -4)
    public static let timeout = ResultCode(rawValue: -5)
    public static let parameterError = ResultCode(rawValue: -9)
    public static let connectError = ResultCode(rawValue: -11)
    public static let notSupported = ResultCode(rawValue: -12)

    private static let names: [Int32: String] = [
        0: "success", 1: "operationsError", 2: "protocolError", 3: "timeLimitExceeded", 4: "sizeLimitExceeded",
        5: "compareFalse", 6: "compareTrue", 7: "authMethodNotSupported", 8: "strongerAuthRequired", 10: "referral",
        11: "adminLimitExceeded", 12: "unavailableCriticalExtension", 13: "confidentialityRequired",
        14: "saslBindInProgress", 16: "noSuchAttribute", 17: "undefinedAttributeType", 18: "inappropriateMatching",
        19: "constraintViolation", 20: "attributeOrValueExists", 21: "invalidAttributeSyntax", 32: "noSuchObject",
        33: "aliasProblem", 34: "invalidDNSyntax", 36: "aliasDereferencingProblem", 48: "inappropriateAuthentication",
        49: "invalidCredentials", 50: "insufficientAccessRights", 51: "busy", 52: "unavailable",
        53: "unwillingToPerform", 54: "loopDetect", 64: "namingViolation", 65: "objectClassViolation",
        66: "notAllowedOnNonLeaf", 67: "notAllowedOnRDN", 68: "entryAlreadyExists", 69: "objectClassModsProhibited",
        71: "affectsMultipleDSAs", 80: "other", 118: "canceled", 119: "noSuchOperation", 120: "tooLate",
        121: "cannotCancel", 122: "assertionFailed", 123: "authorizationDenied", 0x410E: "noOperation",
        -1: "serverDown", -2: "localError", -3: "encodingError", -4: "decodingError", -5: "timeout",
        -6: "authUnknown", -7: "filterError", -8: "userCancelled", -9: "parameterError", -10: "noMemory",
        -11: "connectError", -12: "notSupported", -13: "controlNotFound", -14: "noResultsReturned",
        -15: "moreResultsToReturn", -16: "clientLoop", -17: "referralLimitExceeded",
    ]

    public var name: String { Self.names[rawValue] ?? "resultCode\(rawValue)" }

    /// The server could not be reached or went away: worth retrying later, not a refusal.
    public var isTransportFailure: Bool {
        [Self.serverDown, .connectError, .timeout, .busy, .unavailable].contains(self)
    }
}

extension ResultCode: CustomStringConvertible {
    public var description: String { "\(name) (\(rawValue))" }
}

/// A failed LDAP operation: the result code, what the server said, and what we were doing.
public struct LDAPError: Error, Sendable, Hashable {
    public var code: ResultCode
    /// The server's diagnostic message (or libldap's, for client-side failures).
    public var diagnosticMessage: String
    /// The part of the target DN that exists, as the server reported it.
    public var matchedDN: String
    /// What was being done: "connect ldap://…", "add cn=x,dc=example,dc=com", …
    public var operation: String
    /// For a transaction that failed to commit: the message id of the operation that failed (RFC 5805 §2.3).
    public var failedMessageID: Int32?

    public init(code: ResultCode, diagnosticMessage: String = "", matchedDN: String = "", operation: String, failedMessageID: Int32? = nil) {
        self.code = code
        self.diagnosticMessage = diagnosticMessage
        self.matchedDN = matchedDN
        self.operation = operation
        self.failedMessageID = failedMessageID
    }

    /// True when the server was unreachable or unavailable (retry later), false when it refused the request.
    public var isTransportFailure: Bool { code.isTransportFailure }

    /// True when the answer says more about the server's state than about the request, so that the same
    /// request may well succeed later: unreachable, busy or unavailable, out of time or of an
    /// administrative limit, failing inside (`other`), or unwilling because it is read-only or busy.
    /// Such an answer must never be held against a replication message.
    public var isTransient: Bool {
        if isTransportFailure { return true }
        switch code {
        case .timeLimitExceeded, .adminLimitExceeded, .other: return true
        case .unwillingToPerform:
            let text = diagnosticMessage.lowercased()
            return ["busy", "restricted", "read-only", "readonly", "unavailable", "shutting down", "try again"].contains { text.contains($0) }
        default: return false
        }
    }
}

extension LDAPError: CustomStringConvertible {
    public var description: String {
        var text = "\(operation): \(code.name) (\(code.rawValue))"
        if !diagnosticMessage.isEmpty { text += ": \(diagnosticMessage)" }
        if !matchedDN.isEmpty { text += " [matched DN: \(matchedDN)]" }
        return text
    }
}
