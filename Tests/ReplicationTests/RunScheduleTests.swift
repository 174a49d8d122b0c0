import Foundation
import Testing

@testable import Replication

/// The run's schedule alone: the sequencer's order with what a run adds (stops, --max-messages,
/// sources blocked behind a message that was not applied, overdue gaps).
struct RunScheduleTests {
    typealias Message = RunSchedule.Message
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func message(_ id: Int, _ source: String, _ sequence: UInt64, hoursAgo: Double = 1, full: Bool = false) -> Message {
        Message(id: id, source: source, sequence: sequence, received: now.addingTimeInterval(-hoursAgo * 3600 + Double(id)), isFull: full)
    }

    /// Every turn, the run's answers given by `outcome` (nil: applied).
    static func turns(
        _ schedule: inout RunSchedule, stopAfter: Int? = nil, outcome: (Message) -> String? = { _ in nil }
    ) -> [String] {
        var result: [String] = []
        var given = 0
        while let (message, turn) = schedule.next(stopRequested: stopAfter.map { given >= $0 } ?? false) {
            given += 1
            let name = "\(message.source)#\(message.sequence)"
            switch turn {
            case .apply:
                switch outcome(message) {
                case nil:
                    schedule.applied()
                    result.append("\(name) applied")
                case "stop":
                    schedule.stop()
                    result.append("\(name) deferred")
                case let other?:
                    schedule.notApplied(message)
                    result.append("\(name) \(other)")
                }
            case .duplicate(let last): result.append("\(name) duplicate of \(last)")
            case .held(let waitingFor, _, let overdue): result.append("\(name) held for \(waitingFor)\(overdue ? " overdue" : "")")
            case .stopped: result.append("\(name) stopped")
            case .limitReached(let limit): result.append("\(name) limit \(limit)")
            case .waitsBehind(let sequence): result.append("\(name) behind \(sequence)")
            case .superseded(let full): result.append("\(name) superseded by \(full)")
            }
        }
        return result
    }

    @Test func inOrderWithDuplicatesAndGaps() {
        var schedule = RunSchedule(
            [
                Self.message(0, "a", 3), Self.message(1, "a", 2), Self.message(2, "b", 1), Self.message(3, "a", 1),
                Self.message(4, "b", 3, hoursAgo: 80),
            ],
            lastApplied: ["a": 1], maxMessages: nil, gapTimeout: 72 * 3600, now: Self.now)
        #expect(
            Self.turns(&schedule) == [
                "a#2 applied", "a#3 applied", "b#1 applied", "a#1 duplicate of 1", "b#3 held for 2 overdue",
            ])
        #expect(schedule.taken == 3 && !schedule.isStopped)
    }

    @Test func aMessageNotAppliedHoldsItsSourceOnly() {
        var schedule = RunSchedule(
            [Self.message(0, "a", 1), Self.message(1, "a", 2), Self.message(2, "b", 1), Self.message(3, "a", 3), Self.message(4, "b", 2)],
            lastApplied: [:], maxMessages: nil, gapTimeout: 3600, now: Self.now)
        let turns = Self.turns(&schedule) { $0.source == "a" && $0.sequence == 1 ? "quarantined" : nil }
        #expect(turns == ["a#1 quarantined", "a#2 behind 1", "b#1 applied", "a#3 behind 1", "b#2 applied"])
    }

    @Test func theLimitAndAStopLeaveTheRestInTheDrop() {
        let messages = [Self.message(0, "a", 1), Self.message(1, "b", 1), Self.message(2, "a", 2), Self.message(3, "b", 2)]
        var limited = RunSchedule(messages, lastApplied: [:], maxMessages: 2, gapTimeout: 3600, now: Self.now)
        #expect(Self.turns(&limited) == ["a#1 applied", "b#1 applied", "a#2 limit 2", "b#2 limit 2"])
        var signalled = RunSchedule(messages, lastApplied: [:], maxMessages: nil, gapTimeout: 3600, now: Self.now)
        #expect(Self.turns(&signalled, stopAfter: 1) == ["a#1 applied", "b#1 stopped", "a#2 stopped", "b#2 stopped"])
        #expect(signalled.isStopped)
        var deferred = RunSchedule(messages, lastApplied: [:], maxMessages: nil, gapTimeout: 3600, now: Self.now)
        #expect(Self.turns(&deferred) { $0.source == "b" ? "stop" : nil } == ["a#1 applied", "b#1 deferred", "a#2 stopped", "b#2 stopped"])
    }

    @Test func heldAndDuplicateTurnsComeEvenAfterAStop() {
        var schedule = RunSchedule(
            [Self.message(0, "a", 1), Self.message(1, "a", 1), Self.message(2, "a", 5)], lastApplied: [:], maxMessages: nil, gapTimeout: 3600,
            now: Self.now)
        #expect(Self.turns(&schedule, stopAfter: 0) == ["a#1 stopped", "a#1 duplicate of 1", "a#5 held for 2"])
    }

    /// A full message across a gap (#2 lost): applied; what it supersedes is settled once it is, and
    /// waits behind it when it is not.
    @Test func aFullMessageAcrossAGap() {
        let messages = [Self.message(0, "a", 3), Self.message(1, "a", 5, full: true), Self.message(2, "a", 6), Self.message(3, "a", 4)]
        var schedule = RunSchedule(messages, lastApplied: ["a": 1], maxMessages: nil, gapTimeout: 72 * 3600, now: Self.now)
        #expect(Self.turns(&schedule) == ["a#5 applied", "a#6 applied", "a#3 superseded by 5", "a#4 superseded by 5"])
        var refused = RunSchedule(messages, lastApplied: ["a": 1], maxMessages: nil, gapTimeout: 72 * 3600, now: Self.now)
        #expect(
            Self.turns(&refused) { $0.sequence == 5 ? "quarantined" : nil } == [
                "a#5 quarantined", "a#6 behind 5", "a#3 behind 5", "a#4 behind 5",
            ])
    }
}
