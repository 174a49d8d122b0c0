import Foundation
import TestSupport
import Testing

/// The trait the server tests run under: their waits must hold no thread of Swift
/// concurrency's pool, before or after an await.
@Suite(.ownThread) struct OwnThreadTests {
    /// Which own thread runs this code, read from synchronous code as a blocking wait would.
    private static func threadName() -> String? { OwnThreadTrait.currentTest }

    @Test func aSynchronousTestRunsOnItsOwnThread() {
        #expect(Self.threadName() == "aSynchronousTestRunsOnItsOwnThread()")
    }

    @Test func anAsynchronousTestComesBackToItsThreadAfterAwaiting() async throws {
        let name = "anAsynchronousTestComesBackToItsThreadAfterAwaiting()"
        #expect(Self.threadName() == name)
        try await Task.sleep(for: .milliseconds(10))
        #expect(Self.threadName() == name)
        async let child = Self.threadName()
        #expect(await child == name, "a child task inherits the preference")
    }

    @Test(arguments: [1, 2]) func eachCaseHasAThread(_ index: Int) {
        #expect(Self.threadName() == "eachCaseHasAThread(_:)")
    }
}
