/// An LDAP control (RFC 4511 §4.1.11) as carried by a request or a response, or an LDIF `control:` line.
public struct Control: Hashable, Sendable {
    public var oid: String
    public var isCritical: Bool
    /// The BER-encoded control value; nil when the control has none (which differs from an empty value).
    public var value: [UInt8]?

    public init(oid: String, isCritical: Bool = false, value: [UInt8]? = nil) {
        self.oid = oid
        self.isCritical = isCritical
        self.value = value
    }
}

extension Control {
    /// Well-known control OIDs.
    public enum OIDs {
        public static let permissiveModify = "1.2.840.113556.1.4.1413"
        public static let assertion = "1.3.6.1.1.12"
        public static let noOp = "1.3.6.1.4.1.4203.666.5.2"
        public static let preRead = "1.3.6.1.1.13.1"
        public static let postRead = "1.3.6.1.1.13.2"
        public static let transactionSpecification = "1.3.6.1.1.21.2"
        public static let pagedResults = "1.2.840.113556.1.4.319"
        public static let manageDsaIT = "2.16.840.1.113730.3.4.2"
    }

    /// Permissive Modify: adding a present value or deleting an absent one succeeds.
    public static func permissiveModify(critical: Bool = true) -> Control {
        Control(oid: OIDs.permissiveModify, isCritical: critical)
    }

    /// No-Op: the server checks the operation and answers, without writing anything.
    public static let noOp = Control(oid: OIDs.noOp, isCritical: true)

    /// Pre-read / post-read (RFC 4527): the entry as it was before or is after the operation.
    public static func preRead(_ attributes: [String]) -> Control {
        Control(oid: OIDs.preRead, isCritical: true, value: BER.sequenceOfOctetStrings(attributes))
    }

    public static func postRead(_ attributes: [String]) -> Control {
        Control(oid: OIDs.postRead, isCritical: true, value: BER.sequenceOfOctetStrings(attributes))
    }

    /// Assertion (RFC 4528): the operation only happens when `filter` matches the target entry.
    public static func assertion(_ filter: Filter) -> Control {
        Control(oid: OIDs.assertion, isCritical: true, value: filter.ber)
    }
}
