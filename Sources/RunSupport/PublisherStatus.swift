import Foundation

/// What a publishing site has sent (`bridgehead status` with a `[publish]` section).
public struct PublisherStatus: Sendable, Codable, Hashable {
    public var source: String
    /// The last sequence given to a message (0: none yet).
    public var lastSequence: UInt64
    /// The accesslog position (entryCSN) the last message reaches; nil: nothing captured yet.
    public var position: String?
    public var lastPublished: Date?
    /// Archived messages not delivered yet, oldest first, and since when the oldest waits.
    public var undelivered: [UInt64]
    public var undeliveredSince: Date?

    public init(
        source: String, lastSequence: UInt64, position: String?, lastPublished: Date?, undelivered: [UInt64], undeliveredSince: Date?
    ) {
        self.source = source
        self.lastSequence = lastSequence
        self.position = position
        self.lastPublished = lastPublished
        self.undelivered = undelivered
        self.undeliveredSince = undeliveredSince
    }
}
