import Addressing

extension FuzzEntries {
    /// The address parser: a parsed address has a canonical form, and an address whose type IMCEA can
    /// carry comes back unchanged from an IMCEA round trip.
    public static func address(_ bytes: [UInt8]) {
        guard let address = try? AddressParser.parse(String(decoding: bytes, as: UTF8.self)) else { return }
        precondition(!address.canonical.isEmpty)
        _ = address.distinguishedName?.description
        // IMCEA can carry types of letters and digits only (the type ends at the first "-").
        if address.type.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
            let encoded = IMCEA.encode(type: address.type, address: address.value, domain: "fuzz.example")
            precondition(IMCEA.decode(encoded)?.address == address.value, "IMCEA round trip of \(address.value)")
        }
    }
}
