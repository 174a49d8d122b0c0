import LDIF

extension FuzzEntries {
    /// The LDIF reader (and, through it, the DN parser): what was read must write back and read again
    /// to the same records, with plain UTF-8 values allowed or not.
    public static func ldif(_ bytes: [UInt8]) {
        let limits = LDIFLimits(maxLineLength: 1 << 16, maxRecordSize: 1 << 20, maxLinesPerRecord: 10_000)
        for utf8 in [false, true] {
            guard let records = try? LDIFReader.records(in: bytes, options: .init(limits: limits, allowUTF8Values: utf8)) else { continue }
            let written = LDIFWriter().render(records)
            guard let again = try? LDIFReader.records(in: written, options: .init(limits: limits)), again == records else {
                fatalError("LDIF round trip changed the records")
            }
        }
    }
}
