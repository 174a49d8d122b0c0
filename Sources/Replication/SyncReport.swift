import Foundation
import LDAPClient
import LDAPModel
import MailDrop
import RunSupport

/// What one run may do.
public struct SyncOptions: Sendable {
    /// Plan and report; write nothing (not the directory, not the drop, not the state).
    public var dryRun = false
    /// In a dry run, send each planned operation with the No-Op control so the server checks it.
    public var validate = false
    /// Apply at most this many messages; the rest wait for the next run.
    public var maxMessages: Int?
    /// Messages ("source:sequence") an operator allows past the delete thresholds.
    public var allowDeletes: Set<String> = []
    /// The time the run takes as now (for signature validity and how long messages have waited).
    public var now = Date()
    /// Describe every planned change in the report (a dry run always does; a quiet cron run need not).
    public var details = true
    /// Checked between messages and between the steps of one: when requested, the run ends early.
    public var stop: StopRequest?

    public init(dryRun: Bool = false, validate: Bool = false, maxMessages: Int? = nil, allowDeletes: Set<String> = [], now: Date = Date()) {
        self.dryRun = dryRun
        self.validate = validate
        self.maxMessages = maxMessages
        self.allowDeletes = allowDeletes
        self.now = now
    }
}

/// What became of one message in a run.
public struct MessageReport: Sendable, Codable, Hashable {
    public enum Outcome: String, Sendable, Codable, Hashable, CaseIterable {
        /// Applied (in a dry run: would be).
        case applied
        /// Already applied before: settled as processed, nothing applied.
        case duplicate
        /// Waits in the drop: behind a sequence gap, over a delete threshold, or behind a held message.
        case held
        /// Refused: moved to the quarantine folder (in a dry run: would be).
        case quarantined
        /// Not reached in this run (--max-messages).
        case deferred
    }

    public struct Change: Sendable, Codable, Hashable {
        public struct Values: Sendable, Codable, Hashable {
            public var attribute: String
            public var added: [String]
            public var removed: [String]
        }
        public struct Reference: Sendable, Codable, Hashable {
            public var attribute: String
            public var address: String
            public var dn: String
            public var via: String
        }
        public var operation: String
        public var dn: String
        public var newDN: String?
        /// The record of the message it comes from (1-based; 0 for a delete a full message implies).
        public var record: Int
        public var values: [Values]
        public var references: [Reference]
        /// The server's objection when the run validated (No-Op) or applied it.
        public var error: String?
    }

    public var id: String
    public var outcome: Outcome
    public var reason: String?
    public var source: String?
    public var sequence: UInt64?
    public var kind: String?
    public var signer: String?
    public var messageID: String?
    public var from: String?
    public var subject: String?
    /// For a held message: the sequence it waits for, and since when messages have waited.
    public var waitingFor: UInt64?
    public var waitingSince: Date?
    public var changes: [Change]
    /// Records that change nothing in the directory as it is.
    public var unchanged: Int
    /// Held until an operator acts (a delete threshold): the run exits 1 so that cron reports it.
    public var awaitsOperator = false
    /// Held behind a gap for longer than the gap timeout.
    public var overdue = false
    /// The planned changes as LDIF change records (for --format ldif; the agent's own state update,
    /// which the run sends with them, is not among them).
    public var ldif: [ChangeRecord] = []

    enum CodingKeys: String, CodingKey {
        case id, outcome, reason, source, sequence, kind, signer, messageID, from, subject, waitingFor, waitingSince, changes, unchanged
        case awaitsOperator, overdue
    }
}

/// A whole run: every message and the totals.
public struct RunReport: Sendable, Codable {
    public var dryRun: Bool
    public var started: Date
    public var finished: Date
    public var messages: [MessageReport]
    /// Operations sent (applied, or in a dry run planned).
    public var changes: Int
    /// Held messages that have waited longer than the gap timeout.
    public var overdue: Int
    /// The run ended early on a stop request (SIGTERM, SIGINT).
    public var stopped = false
    /// Requests sent to sources for what their gaps lack (in a dry run: that would be sent).
    public var requests: [GapRequest] = []

    public func count(_ outcome: MessageReport.Outcome) -> Int { messages.count { $0.outcome == outcome } }

    /// sysexits: 75 when the run was stopped early (try again later); else 0, or 1 when some message
    /// was quarantined, has waited past the gap timeout, or waits for an operator to allow its deletes.
    public var exitStatus: Int32 {
        if stopped { return 75 }
        return count(.quarantined) > 0 || overdue > 0 || messages.contains(where: \.awaitsOperator) ? 1 : 0
    }
}

/// A run could not go on: the server or drop is unavailable, or the configuration is unusable.
public enum SyncError: Error, Sendable, CustomStringConvertible {
    case ldap(LDAPError)
    case mail(MailDropError)
    case configuration(String)

    public var description: String {
        switch self {
        case .ldap(let error): "\(error)"
        case .mail(let error): "mail drop: \(error)"
        case .configuration(let reason): reason
        }
    }
}
