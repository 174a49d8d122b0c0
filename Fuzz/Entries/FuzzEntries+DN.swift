import LDAPModel

extension FuzzEntries {
    /// The RFC 4514 DN parser: a parsed DN prints to a string that parses to the same DN.
    public static func dn(_ bytes: [UInt8]) {
        guard let dn = try? DN(parsing: bytes) else { return }
        guard let again = try? DN(parsing: dn.description), again == dn else { fatalError("DN round trip changed \(dn)") }
        _ = dn.normalized
    }

    /// The RFC 4515 filter parser: a parsed filter prints to a string that parses to the same filter,
    /// and encodes to BER.
    public static func filter(_ bytes: [UInt8]) {
        guard let filter = try? Filter(parsing: String(decoding: bytes, as: UTF8.self)) else { return }
        guard let again = try? Filter(parsing: filter.description), again == filter else { fatalError("filter round trip changed \(filter)") }
        _ = filter.ber
    }
}
