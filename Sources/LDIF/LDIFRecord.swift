import LDAPModel

/// One record of an LDIF file: an entry (content record) or a change (change record).
public enum LDIFRecord: Hashable, Sendable {
    case content(Entry)
    case change(ChangeRecord)

    public var dn: DN {
        switch self {
        case .content(let entry): entry.dn
        case .change(let record): record.dn
        }
    }
}
