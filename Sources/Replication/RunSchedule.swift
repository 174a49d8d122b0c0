import Foundation

/// Each message's turn in a run: the sequencer's decisions (per source, in order; a repeat is a
/// duplicate; anything past a gap is held), then what the run adds to them — a stop, the
/// `--max-messages` limit, and a source with a message that was not applied (refused, or waiting for
/// an operator), whose later messages wait behind it. Pure: the run says what became of each message
/// it was given, and the schedule gives out the next.
struct RunSchedule: Sendable {
    enum Turn: Sendable, Hashable {
        /// Applied before (or earlier in this run): settled as processed.
        case duplicate(lastApplied: UInt64)
        /// A message before it is missing; overdue once it has waited past `[agent] gap_timeout_hours`.
        case held(waitingFor: UInt64, since: Date, overdue: Bool)
        /// The run was stopped before it (a signal, or another agent holds a source): left in the drop.
        case stopped
        /// `--max-messages` messages were taken already: left in the drop.
        case limitReached(Int)
        /// An earlier message of its source was not applied in this run.
        case waitsBehind(UInt64)
        /// A full message of its source applied in this run (sequence `by`) holds all it could bring:
        /// settled as processed.
        case superseded(by: UInt64)
        /// Its turn: plan it, and apply it.
        case apply
    }

    typealias Message = Sequencer.Message<Int>

    private let order: [(message: Message, decision: SequenceDecision)]
    private var position = 0
    private let maxMessages: Int?
    private let gapTimeout: Double
    private let now: Date
    /// Messages taken (applied, or in a dry run foretold as applied).
    private(set) var taken = 0
    private(set) var isStopped = false
    /// For each source with a message not applied: that message's sequence.
    private var blocked: [String: UInt64] = [:]

    /// `messages`: those that decoded (ids: whatever the run finds them by); `lastApplied`: each
    /// source's state; `gapTimeout` in seconds.
    init(_ messages: [Message], lastApplied: [String: UInt64], maxMessages: Int?, gapTimeout: Double, now: Date) {
        self.order = Sequencer.plan(messages, lastApplied: lastApplied)
        self.maxMessages = maxMessages
        self.gapTimeout = gapTimeout
        self.now = now
    }

    /// The next message and its turn; nil when every message had one. `stopRequested`: a signal came.
    mutating func next(stopRequested: Bool = false) -> (message: Message, turn: Turn)? {
        guard position < order.count else { return nil }
        let (message, decision) = order[position]
        position += 1
        switch decision {
        case .duplicate(let last):
            return (message, .duplicate(lastApplied: last))
        case .held(let waitingFor, let since):
            return (message, .held(waitingFor: waitingFor, since: since, overdue: now.timeIntervalSince(since) > gapTimeout))
        case .superseded(let by):
            // Only once the full message is applied (it came earlier in the order).
            if let waitingFor = blocked[message.source] { return (message, .waitsBehind(waitingFor)) }
            if isStopped || stopRequested { return (message, .stopped) }
            return (message, .superseded(by: by))
        case .apply:
            if isStopped || stopRequested {
                isStopped = true
                return (message, .stopped)
            }
            if let limit = maxMessages, taken >= limit {
                blocked[message.source] = blocked[message.source] ?? message.sequence
                return (message, .limitReached(limit))
            }
            if let waitingFor = blocked[message.source] { return (message, .waitsBehind(waitingFor)) }
            return (message, .apply)
        }
    }

    /// The message was applied (or, in a dry run, would be).
    mutating func applied() { taken += 1 }

    /// The message was not applied (quarantined, or waiting for an operator): its source's later
    /// messages wait behind it.
    mutating func notApplied(_ message: Message) { blocked[message.source] = message.sequence }

    /// Nothing more is applied in this run; the messages still to come are left in the drop.
    mutating func stop() { isStopped = true }
}
