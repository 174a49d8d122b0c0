import Foundation

/// What one publish run did (or, in a dry run, would do).
public struct PublishReport: Sendable, Codable {
    public var source: String
    public var dryRun: Bool
    /// The log position the run started from and reached (nil: none yet).
    public var from: String?
    public var to: String?
    public var messages: [PublishedMessage] = []
    /// Archived messages delivered (or, with --resend, delivered again) in this run.
    public var delivered: [UInt64] = []
    /// Messages still undelivered after this run, with why.
    public var undelivered: [UndeliveredMessage] = []
    public var finished = Date()
    /// 0 all delivered; 1 a delivery was refused (a person must look); 69 delivery must be retried.
    public var exitStatus: Int32 = 0

    public init(source: String, dryRun: Bool) {
        self.source = source
        self.dryRun = dryRun
    }

    /// Changes (records) in the messages built.
    public var changes: Int { messages.reduce(0) { $0 + $1.records } }
}

/// One message built in the run.
public struct PublishedMessage: Sendable, Codable, Hashable {
    public var sequence: UInt64
    public var kind: String
    public var records: Int
    public var bytes: Int
    /// The log position the message reaches.
    public var position: String?
    /// One line per record ("add cn=…", "modify cn=…"), when details were asked for.
    public var changes: [String]?
    /// The message's LDIF, when asked for (`--format ldif`).
    public var ldif: String?
}

public struct UndeliveredMessage: Sendable, Codable, Hashable {
    public var sequence: UInt64
    public var reason: String
    /// temporary (retried next run) or permanent (refused: a person must look; still retried).
    public var kind: String
}
