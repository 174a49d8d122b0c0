// libFuzzer entry point for the LDIF reader (and, through it, the DN parser). Built by scripts/fuzz.
import LDIF

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLDIF(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = LDIFLimits(maxLineLength: 1 << 16, maxRecordSize: 1 << 20, maxLinesPerRecord: 10_000)
    for utf8 in [false, true] {
        guard let records = try? LDIFReader.records(in: bytes, options: .init(limits: limits, allowUTF8Values: utf8)) else { continue }
        // What was read must write back and read again to the same records.
        let written = LDIFWriter().render(records)
        guard let again = try? LDIFReader.records(in: written, options: .init(limits: limits)), again == records else {
            fatalError("LDIF round trip changed the records")
        }
    }
    return 0
}
