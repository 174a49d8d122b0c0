/// Why LDIF input was refused, and where: 1-based line and column (in bytes) of the physical line.
public struct LDIFError: Error, Sendable, Hashable {
    public var line: Int
    public var column: Int
    public var reason: String

    public init(line: Int, column: Int, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }
}

extension LDIFError: CustomStringConvertible {
    /// `LINE:COLUMN: reason`; the CLI puts the file name in front.
    public var description: String { "\(line):\(column): \(reason)" }
}
