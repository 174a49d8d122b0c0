// libFuzzer entry point for the address parser. Built by scripts/fuzz.
import Addressing

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAddress(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let address = try? AddressParser.parse(text) else { return 0 }
    precondition(!address.canonical.isEmpty)
    _ = address.distinguishedName?.description
    // IMCEA can carry types of letters and digits only (the type ends at the first "-").
    if address.type.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
        let encoded = IMCEA.encode(type: address.type, address: address.value, domain: "fuzz.example")
        precondition(IMCEA.decode(encoded)?.address == address.value, "IMCEA round trip of \(address.value)")
    }
    return 0
}
