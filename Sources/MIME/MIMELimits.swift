/// Bounds on what the decoder accepts, so hostile mail ends in an error, never a crash or a hang.
public struct MIMELimits: Sendable, Hashable {
    /// Largest message, in bytes.
    public var maxMessageSize: Int
    /// Largest header section of one entity (all its fields and folds), in bytes.
    public var maxHeaderSize: Int
    /// Most fields in one header section.
    public var maxHeaderFields: Int
    /// Longest line (RFC 5322 allows 998; real mail is sloppier). Bodies declared `binary` are exempt.
    public var maxLineLength: Int
    /// Deepest nesting of multiparts.
    public var maxDepth: Int
    /// Most entities in one message, counted over all levels.
    public var maxParts: Int

    public init(
        maxMessageSize: Int = 256 << 20, maxHeaderSize: Int = 256 << 10, maxHeaderFields: Int = 2_000, maxLineLength: Int = 64 << 10,
        maxDepth: Int = 32, maxParts: Int = 10_000
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxHeaderSize = maxHeaderSize
        self.maxHeaderFields = maxHeaderFields
        self.maxLineLength = maxLineLength
        self.maxDepth = maxDepth
        self.maxParts = maxParts
    }

    public static let `default` = MIMELimits()
}
