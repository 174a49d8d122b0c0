import LDAPModel

/// The server's answer to one operation.
public struct LDAPResult: Sendable, Hashable {
    public var code: ResultCode
    public var diagnosticMessage: String
    public var matchedDN: String
    public var referrals: [String]
    /// Response controls (pre-read, post-read, paged results, …).
    public var controls: [Control]
    /// The message id of the request this answers.
    public var messageID: Int32 = 0

    public init(code: ResultCode, diagnosticMessage: String = "", matchedDN: String = "", referrals: [String] = [], controls: [Control] = []) {
        self.code = code
        self.diagnosticMessage = diagnosticMessage
        self.matchedDN = matchedDN
        self.referrals = referrals
        self.controls = controls
    }

    /// The entry carried by a pre-read response control (RFC 4527): the target before the change.
    public func preReadEntry() throws -> Entry? {
        try controls.first { $0.oid == Control.OIDs.preRead }?.value.map { try BER.searchResultEntry($0) }
    }

    /// The entry carried by a post-read response control: the target after the change.
    public func postReadEntry() throws -> Entry? {
        try controls.first { $0.oid == Control.OIDs.postRead }?.value.map { try BER.searchResultEntry($0) }
    }

    public func error(_ operation: String) -> LDAPError {
        LDAPError(code: code, diagnosticMessage: diagnosticMessage, matchedDN: matchedDN, operation: operation)
    }
}

/// How far below the base a search looks.
public enum SearchScope: Int32, Sendable {
    case base = 0
    case oneLevel = 1
    case subtree = 2
    /// OpenLDAP's subordinate scope: the subtree without the base.
    case children = 3
}
