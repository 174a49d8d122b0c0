import LDAPModel

/// An address in any form that names a sender or a directory object: SMTP, Exchange (EX, and
/// MSXCHNGE, its other name), X500 proxies, X.400, MS Mail, cc:Mail, Notes — possibly IMCEA-encapsulated —
/// or a type this code does not know, kept verbatim and flagged. Two addresses name the same thing
/// when their canonical forms are equal.
public struct Address: Hashable, Sendable {
    public enum Form: Hashable, Sendable {
        case smtp(local: String, domain: String)
        /// An Exchange DN (EX, MSXCHNGE) or an X500 proxy address: the slash form's RDNs, outermost first.
        case exchange([ExchangeRDN])
        case x500([ExchangeRDN])
        case x400(X400Address)
        case msMail(String)
        case ccMail(String)
        case notes(String)
        case unknown(type: String, value: String)
    }

    public let form: Form
    /// The text it was parsed from.
    public let original: String
    /// For an IMCEA-encapsulated address: the domain after the last '@'.
    public let imceaDomain: String?

    /// The canonical type: SMTP, EX (also for MSXCHNGE), X500, X400, MS, CCMAIL, NOTES, or the
    /// given type in upper case when it is not known.
    public var type: String {
        switch form {
        case .smtp: "SMTP"
        case .exchange: "EX"
        case .x500: "X500"
        case .x400: "X400"
        case .msMail: "MS"
        case .ccMail: "CCMAIL"
        case .notes: "NOTES"
        case .unknown(let type, _): type.uppercased()
        }
    }

    public var isUnknownType: Bool {
        if case .unknown = form { return true }
        return false
    }

    /// The value without its type prefix, decoded.
    public var value: String {
        switch form {
        case .smtp(let local, let domain): local + "@" + domain
        case .exchange(let rdns), .x500(let rdns): ExchangeRDN.slashForm(rdns)
        case .x400(let address): address.semicolonForm
        case .msMail(let value), .ccMail(let value), .notes(let value): value
        case .unknown(_, let value): value
        }
    }

    /// `TYPE:value` normalised so that equal addresses have equal canonical forms.
    public var canonical: String {
        switch form {
        case .smtp(let local, let domain): "SMTP:" + SMTPAddress.canonicalLocal(local) + "@" + domain.lowercased()
        case .exchange(let rdns): "EX:" + ExchangeRDN.slashForm(rdns).lowercased()
        case .x500(let rdns): "X500:" + ExchangeRDN.slashForm(rdns).lowercased()
        case .x400(let address): "X400:" + address.canonicalForm
        case .msMail(let value), .ccMail(let value), .notes(let value): type + ":" + Self.folded(value)
        case .unknown(let type, let value): imceaDomain == nil ? original : type.uppercased() + ":" + value
        }
    }

    /// The LDAP DN of an Exchange or X500 address (`/o=Org/ou=Site/cn=jdoe` → `cn=jdoe,ou=Site,o=Org`).
    public var distinguishedName: DN? {
        switch form {
        case .exchange(let rdns), .x500(let rdns):
            DN(rdns: rdns.reversed().map { RDN(attributes: [AttributeTypeAndValue(type: $0.type, value: Array($0.value.utf8))]) })
        default: nil
        }
    }

    static func folded(_ text: String) -> String {
        text.lowercased().split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    public static func == (lhs: Address, rhs: Address) -> Bool { lhs.canonical == rhs.canonical }
    public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }
}

/// One `type=value` step of an Exchange slash DN.
public struct ExchangeRDN: Hashable, Sendable {
    public var type: String
    public var value: String

    static func slashForm(_ rdns: [ExchangeRDN]) -> String { rdns.map { "/\($0.type)=\($0.value)" }.joined() }
}

public struct AddressError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Bounds on what the parser accepts.
public struct AddressLimits: Sendable, Hashable {
    /// Longest address, in UTF-8 bytes (RFC 5321 allows 256 for a path; Exchange DNs run longer).
    public var maxLength: Int
    public init(maxLength: Int = 2048) { self.maxLength = maxLength }
}
