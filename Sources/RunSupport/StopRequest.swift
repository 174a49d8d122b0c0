import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A request to end a run early: SIGTERM from `systemctl stop` or a cron timeout, SIGINT from a
/// terminal. The run checks it between messages and between the steps of a message, finishes or
/// abandons the step it is in (nothing is settled half-way: a message not finished stays in the drop
/// and the next run plans it again from the directory as it is), releases its lock and exits 75.
public final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)
    private let signalName = Mutex<String?>(nil)

    public init() {}

    public var isRequested: Bool { flag.load(ordering: .acquiring) }

    /// The signal that asked, for messages ("SIGTERM"), or "a stop request".
    public var cause: String { signalName.withLock { $0 } ?? "a stop request" }

    /// Waits `seconds`, or less when a stop is requested meanwhile (a watching command between runs).
    public func pause(_ seconds: Double) async {
        let until = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < until, !isRequested { try? await Task.sleep(for: .milliseconds(200)) }
    }

    public func request(_ cause: String? = nil) {
        if let cause { signalName.withLock { $0 = cause } }
        flag.store(true, ordering: .releasing)
    }

    /// Makes SIGTERM and SIGINT request a stop instead of ending the process. A second signal of the
    /// same kind still ends it at once (the default action is restored after the first).
    public static func onSignals() -> StopRequest {
        let request = StopRequest()
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                request.request(name)
                signal(number, SIG_DFL)
            }
            source.resume()
            sources.append(source)
        }
        return request
    }

    /// The signal sources live as long as the process. Written only while the command starts, before
    /// any other task runs.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
}
