import Foundation
import Testing

/// A test trait that runs each test of a suite on a thread of its own.
///
/// Swift concurrency has one pool thread per core. A synchronous test that waits for a
/// child process or a server (every end-to-end test: `bridgehead sync` runs as a child)
/// holds one of them for the whole wait. On a 2-core machine two such tests leave no
/// thread for anyone else: an async IMAP test connected to Dovecot was not resumed for
/// 400 s and Dovecot closed it "for inactivity" (CI, 2026-12-02). Under this trait a
/// test's body runs on its own thread through a task executor preference, so it keeps
/// its task (issues are still recorded against it) and blocks no pool thread.
///
///     @Suite(.ownThread) struct SyncEndToEndTests { … }
public struct OwnThreadTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Suites are scoped too; only a test case's run needs the thread.
        guard testCase != nil else { return try await function() }
        try await withOwnThread(named: test.name) { try await function() }
    }
}

extension OwnThreadTrait {
    /// The name of the test whose own thread is running, or nil on any other thread.
    public static var currentTest: String? { Thread.current.threadDictionary[threadKey] as? String }
    static let threadKey = "bridgehead.test.ownThread"
}

extension Trait where Self == OwnThreadTrait {
    /// Runs each test on a thread of its own (see ``OwnThreadTrait``).
    public static var ownThread: Self { OwnThreadTrait() }
}

/// Runs `body` with a fresh thread as its task's executor, then lets the thread end.
public func withOwnThread<T>(named name: String, _ body: () async throws -> T) async throws -> T {
    let executor = ThreadExecutor(name: name)
    defer { executor.finish() }
    return try await withTaskExecutorPreference(executor) { try await body() }
}

/// A task executor that is one thread running the jobs it is given, in order.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    init(name: String) {
        let thread = Thread { [self] in
            Thread.current.threadDictionary[OwnThreadTrait.threadKey] = name
            run()
        }
        thread.name = "own test thread"  // Linux keeps 15 bytes of a thread's name
        thread.stackSize = 8 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread end once the jobs it already has are run.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
