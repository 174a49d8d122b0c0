/// Bounds on what the reader accepts, so hostile input ends in an error, not exhausted memory.
public struct LDIFLimits: Sendable, Hashable {
    /// Longest physical line, in bytes (unwrapped `ldapsearch -o ldif-wrap=no` output can be long).
    public var maxLineLength: Int
    /// Largest record (all its unfolded lines together), in bytes.
    public var maxRecordSize: Int
    /// Most attribute-value lines in one record.
    public var maxLinesPerRecord: Int
    /// Largest file read through a `file://` URL value.
    public var maxURLValueSize: Int

    public init(
        maxLineLength: Int = 16 << 20, maxRecordSize: Int = 64 << 20,
        maxLinesPerRecord: Int = 1_000_000, maxURLValueSize: Int = 64 << 20
    ) {
        self.maxLineLength = maxLineLength
        self.maxRecordSize = maxRecordSize
        self.maxLinesPerRecord = maxLinesPerRecord
        self.maxURLValueSize = maxURLValueSize
    }

    public static let `default` = LDIFLimits()
}
