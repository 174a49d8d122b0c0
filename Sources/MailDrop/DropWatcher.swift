import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Waits for new messages in a drop (`sync --watch`): inotify on a Maildir, IMAP IDLE (RFC 2177) on
/// a mailbox. It is opened before the first run, so that what arrives during a run wakes the next.
public protocol DropWatcher: Sendable {
    /// Starts watching (call before the first run).
    func open() async throws(MailDropError)
    /// Returns true when something may have arrived, false when `seconds` passed (or `stop` said so)
    /// first. Throws when the drop cannot be watched any more (the caller opens a new watcher).
    func wait(upTo seconds: Double, stop: @escaping @Sendable () -> Bool) async throws(MailDropError) -> Bool
    func close() async
}

/// inotify(7) on a Maildir's new/ and cur/: a message delivered (linked or renamed in, or written
/// and closed) wakes the watcher.
public final class MaildirWatcher: DropWatcher, @unchecked Sendable {
    private let descriptor: Int32
    public let root: String

    public init(root: String) throws(MailDropError) {
        self.root = root
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw MailDropError(.unavailable, "inotify: \(String(cString: strerror(errno)))") }
        let events = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)
        for folder in ["new", "cur"] where inotify_add_watch(descriptor, root + "/" + folder, events) < 0 {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw MailDropError(.configuration, "cannot watch \(root)/\(folder) (is \(root) a Maildir?): \(reason)")
        }
    }

    deinit { Glibc.close(descriptor) }

    public func open() async throws(MailDropError) {}

    public func wait(upTo seconds: Double, stop: @escaping @Sendable () -> Bool) async throws(MailDropError) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !stop() {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 200)
            if ready < 0, errno != EINTR { throw MailDropError(.unavailable, "inotify: \(String(cString: strerror(errno)))") }
            if ready > 0 {
                drain()
                return true
            }
        }
        return false
    }

    /// Reads every queued event (one wake for a burst of deliveries).
    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while buffer.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
    }

    public func close() async {}
}

/// IMAP IDLE on the mailbox, over a connection of its own (EXAMINE: it changes nothing). Servers end
/// an IDLE after 30 minutes at most (RFC 2177), so each wait lasts at most 25 minutes.
public actor IMAPWatcher: DropWatcher {
    public let settings: IMAPSettings
    private var connection: IMAPConnection?

    public init(settings: IMAPSettings) {
        var view = settings
        view.readOnly = true
        self.settings = view
    }

    /// Connects and examines the mailbox (call before the first run).
    public func open() async throws(MailDropError) {
        if let connection, connection.isActive { return }
        let connection = try await IMAPConnection.connect(settings)
        if !connection.capabilities.contains("IDLE") { try await connection.refreshCapabilities() }
        guard connection.capabilities.contains("IDLE") else {
            await connection.logout()
            throw MailDropError(.configuration, "the IMAP server \(settings.host) does not offer IDLE (RFC 2177); run sync from cron instead")
        }
        try await connection.command("EXAMINE \(try IMAPConnection.quoted(settings.mailbox))", failure: .configuration)
        self.connection = connection
    }

    public func wait(upTo seconds: Double, stop: @escaping @Sendable () -> Bool) async throws(MailDropError) -> Bool {
        try await open()
        guard let connection else { return false }
        do {
            return try await connection.idle(upTo: min(seconds, 1500), stop: stop)
        } catch {
            self.connection = nil
            throw error
        }
    }

    public func close() async {
        await connection?.logout()
        connection = nil
    }
}
