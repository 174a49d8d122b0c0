import Foundation
import RunSupport

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
    /// After the run: the last sequence given, and the archived messages still undelivered.
    public var lastSequence: UInt64 = 0
    public var pending: [UInt64] = []
    public var finished = Date()
    /// 0 all delivered; 1 a delivery was refused (a person must look); 69 delivery must be retried.
    public var exitStatus: Int32 = 0
    /// Peers' requests read from the site's `[mail]` drop, and how each was answered (or refused).
    public var requests: [AnsweredRequest] = []
    /// What went wrong outside any one message (the request mailbox could not be read), one line each.
    public var problems: [String] = []

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
}

/// A peer's request, and what became of it.
public struct AnsweredRequest: Sendable, Codable, Hashable {
    /// The message in the drop.
    public var id: String
    /// The peer that asked (verified), and what it asked for; nil when it was refused unread.
    public var peer: String?
    public var request: String?
    /// "resent 4-6", "a full message (…)", "nothing to resend (…)"; nil when refused.
    public var answer: String?
    /// Why it was quarantined and not answered.
    public var refused: String?
}

public struct UndeliveredMessage: Sendable, Codable, Hashable {
    public var sequence: UInt64
    public var reason: String
    /// temporary (retried next run) or permanent (refused: a person must look; still retried).
    public var kind: String
}

extension PublishReport {
    /// The Prometheus textfile of a real run (`[publish] metrics_file`).
    public var metrics: [MetricsFile.Metric] {
        [
            MetricsFile.Metric(
                name: "bridgehead_publish_last_run_messages", help: "Messages built in the last publish run.",
                samples: [([:], Double(messages.count))]),
            MetricsFile.Metric(
                name: "bridgehead_publish_last_run_changes", help: "Change records in the messages of the last publish run.",
                samples: [([:], Double(changes))]),
            MetricsFile.Metric(
                name: "bridgehead_publish_last_run_timestamp_seconds", help: "When the last publish run finished.",
                samples: [([:], finished.timeIntervalSince1970)]),
            MetricsFile.Metric(
                name: "bridgehead_publish_last_run_exit_status", help: "Exit status of the last publish run.",
                samples: [([:], Double(exitStatus))]),
            MetricsFile.Metric(
                name: "bridgehead_publish_last_sequence", help: "The last sequence number given to a message.",
                samples: [(["source": source], Double(lastSequence))]),
            MetricsFile.Metric(
                name: "bridgehead_publish_undelivered_messages", help: "Archived messages not delivered yet.",
                samples: [(["source": source], Double(pending.count))]),
        ]
    }
}
