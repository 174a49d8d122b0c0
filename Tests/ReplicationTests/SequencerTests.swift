import Foundation
import Replication
import Testing

struct SequencerTests {
    typealias Message = Sequencer.Message<String>
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    private func message(_ id: String, _ source: String, _ sequence: UInt64, minute: Double = 0) -> Message {
        Message(id: id, source: source, sequence: sequence, received: t0.addingTimeInterval(minute * 60))
    }

    private func decisions(_ messages: [Message], _ last: [String: UInt64]) -> [String: SequenceDecision] {
        Dictionary(uniqueKeysWithValues: Sequencer.plan(messages, lastApplied: last).map { ($0.message.id, $0.decision) })
    }

    @Test func reversedArrivalIsAppliedInOrder() {
        let plan = Sequencer.plan([message("c", "a", 3), message("b", "a", 2), message("a", "a", 1)], lastApplied: [:])
        #expect(plan.map(\.message.id) == ["a", "b", "c"])
        #expect(plan.allSatisfy { $0.decision == .apply })
    }

    @Test func duplicatesBothOldAndRepeatedInTheRun() {
        let result = decisions([message("old", "a", 4), message("next", "a", 6), message("again", "a", 6, minute: 1)], ["a": 5])
        #expect(result["old"] == .duplicate(lastApplied: 5))
        #expect(result["next"] == .apply)
        #expect(result["again"] == .duplicate(lastApplied: 6), "the second copy of 6 is a duplicate of the first")
    }

    @Test func aGapHoldsEverythingAfterIt() {
        let result = decisions([message("8", "a", 8, minute: 5), message("6", "a", 6), message("9", "a", 9, minute: 2)], ["a": 5])
        #expect(result["6"] == .apply)
        #expect(result["8"] == .held(waitingFor: 7, waitedSince: t0.addingTimeInterval(120)))
        #expect(result["9"] == .held(waitingFor: 7, waitedSince: t0.addingTimeInterval(120)))
        // When 7 arrives, all three go in order.
        let later = Sequencer.plan([message("8", "a", 8), message("7", "a", 7), message("9", "a", 9)], lastApplied: ["a": 6])
        #expect(later.map(\.message.id) == ["7", "8", "9"] && later.allSatisfy { $0.decision == .apply })
    }

    @Test func sourcesAreIndependent() {
        let result = decisions([message("a1", "site-a", 1), message("b3", "site-b", 3), message("b2", "site-b", 2)], ["site-b": 1])
        #expect(result["a1"] == .apply && result["b2"] == .apply && result["b3"] == .apply)
        let heldA = decisions([message("a2", "site-a", 2), message("b2", "site-b", 2)], ["site-b": 1])
        #expect(heldA["a2"] == .held(waitingFor: 1, waitedSince: t0))
        #expect(heldA["b2"] == .apply, "a gap at one source holds nothing of another")
    }

    @Test func sourcesInterleaveByArrival() {
        // b1 arrived first, then a1, then b2: applied in that order (a's changes may name b's entries).
        let plan = Sequencer.plan(
            [message("b2", "site-b", 2, minute: 3), message("a1", "site-a", 1, minute: 2), message("b1", "site-b", 1, minute: 1)], lastApplied: [:])
        #expect(plan.map(\.message.id) == ["b1", "a1", "b2"])
        // Within a source the sequence rules, whatever the arrival: a2 arrived before a1, but waits for it.
        let reversed = Sequencer.plan(
            [message("a2", "site-a", 2, minute: 1), message("b1", "site-b", 1, minute: 2), message("a1", "site-a", 1, minute: 3)], lastApplied: [:])
        #expect(reversed.map(\.message.id) == ["b1", "a1", "a2"])
    }

    /// A full message beyond a gap is applied; the messages between the last applied and it are
    /// superseded. Without a gap, everything goes in order as usual.
    @Test func aFullMessageJumpsAGap() {
        let full = Message(id: "7f", source: "a", sequence: 7, received: t0, isFull: true)
        let result = decisions([message("6", "a", 6), full, message("8", "a", 8), message("4", "a", 4)], ["a": 4])
        #expect(result["7f"] == .apply)
        #expect(result["8"] == .apply)
        #expect(result["6"] == .superseded(by: 7))
        #expect(result["4"] == .duplicate(lastApplied: 4))
        let plan = Sequencer.plan([message("6", "a", 6), full, message("5", "a", 5)], lastApplied: ["a": 4])
        #expect(plan.map(\.message.id) == ["5", "6", "7f"], "no gap: in order")
        #expect(plan.allSatisfy { $0.decision == .apply })
    }
}
