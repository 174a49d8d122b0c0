// libFuzzer entry point for the RFC 4514 DN and RFC 4515 filter parsers. Built by scripts/fuzz.
import LDAPModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDN(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let dn = try? DN(parsing: bytes) {
        guard let again = try? DN(parsing: dn.description), again == dn else { fatalError("DN round trip changed \(dn)") }
    }
    if let filter = try? Filter(parsing: String(decoding: bytes, as: UTF8.self)) {
        guard let again = try? Filter(parsing: filter.description), again == filter else { fatalError("filter round trip changed \(filter)") }
        _ = filter.ber
    }
    return 0
}
