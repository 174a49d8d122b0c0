import Foundation

/// What a run does with one message, from its source's sequence alone.
public enum SequenceDecision: Sendable, Hashable {
    /// The next in line: apply it (messages to apply come out in the order to apply them).
    case apply
    /// Its sequence was applied before (or it repeats one applied in this run): settle it as processed.
    case duplicate(lastApplied: UInt64)
    /// A message before it is missing: leave it in the drop until `waitingFor` arrives.
    case held(waitingFor: UInt64, waitedSince: Date)
    /// A `full` message of its source with sequence `by` comes after it across a gap: once that one is
    /// applied, this one is settled as processed (the full message holds everything it could bring).
    case superseded(by: UInt64)
}

/// Orders the messages of a run (DESIGN.md: exactly once, in order, a gap is held and reported).
/// Per source: sequence ≤ last applied → duplicate; last applied + 1 → apply, and so on while the
/// sequence continues; anything beyond a gap → held, unless a `full` message lies beyond it: a full
/// message is applied across a gap, and the messages between the last applied and it are superseded.
/// Arrival order does not matter.
public enum Sequencer {
    public struct Message<ID: Hashable & Sendable>: Sendable {
        public var id: ID
        public var source: String
        public var sequence: UInt64
        /// When the drop received it (file time, or IMAP INTERNALDATE).
        public var received: Date
        /// A `full` message: everything its source owns, so it may be applied across a gap.
        public var isFull: Bool

        public init(id: ID, source: String, sequence: UInt64, received: Date, isFull: Bool = false) {
            self.id = id
            self.source = source
            self.sequence = sequence
            self.received = received
            self.isFull = isFull
        }
    }

    /// Decisions for every message: the ones to apply first, in application order, then the
    /// duplicates and the held ones. Each source's messages apply in sequence order; between sources,
    /// the message that can go next and arrived first goes first (one source's changes may refer to
    /// entries another source's earlier message created).
    public static func plan<ID>(_ messages: [Message<ID>], lastApplied: [String: UInt64]) -> [(message: Message<ID>, decision: SequenceDecision)] {
        var queues: [(source: String, items: [Message<ID>])] = []
        var others: [(Message<ID>, SequenceDecision)] = []
        let bySource = Dictionary(grouping: messages, by: \.source)
        for source in bySource.keys.sorted() {
            var sorted = bySource[source]!.sorted { ($0.sequence, $0.received) < ($1.sequence, $1.received) }
            var last = lastApplied[source] ?? 0
            // The last full message beyond a gap goes next; what lies between is superseded by it.
            let present = Set(sorted.map(\.sequence))
            if let full = sorted.last(where: { $0.isFull && $0.sequence > last }), full.sequence > last &+ 1,
                !(last &+ 1..<full.sequence).allSatisfy(present.contains)
            {
                for message in sorted where message.sequence > last && message.sequence < full.sequence {
                    others.append((message, .superseded(by: full.sequence)))
                }
                sorted.removeAll { $0.sequence > last && $0.sequence < full.sequence }
                for message in sorted where message.sequence <= last {
                    others.append((message, .duplicate(lastApplied: last)))
                }
                sorted.removeAll { $0.sequence <= last }
                last = full.sequence &- 1
            }
            var gap: UInt64?
            var ready: [Message<ID>] = []
            for message in sorted {
                if message.sequence <= last {
                    others.append((message, .duplicate(lastApplied: last)))
                } else if gap == nil, message.sequence == last &+ 1 {
                    ready.append(message)
                    last = message.sequence
                } else {
                    // (Sequences stop at 2^53 − 1, ReplicationMessage.maxSequence: the sum cannot wrap.)
                    gap = gap ?? last &+ 1
                    let oldest = sorted.filter { $0.sequence > last }.map(\.received).min() ?? message.received
                    others.append((message, .held(waitingFor: gap!, waitedSince: oldest)))
                }
            }
            if !ready.isEmpty { queues.append((source, ready)) }
        }
        var toApply: [(Message<ID>, SequenceDecision)] = []
        while let next = queues.indices.min(by: {
            (queues[$0].items[0].received, queues[$0].source) < (queues[$1].items[0].received, queues[$1].source)
        }) {
            toApply.append((queues[next].items.removeFirst(), .apply))
            if queues[next].items.isEmpty { queues.remove(at: next) }
        }
        return toApply + others
    }
}
