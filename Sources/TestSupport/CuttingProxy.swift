import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP relay on 127.0.0.1 in front of a real server, which cuts a connection at a chosen moment: when
/// the server has sent `afterServerBytes` bytes on it, or when the client sends the `occurrence`-th
/// command containing `onClientText` (the command is not forwarded). It cuts once; later connections
/// pass untouched. For tests of what a client does when the network fails mid-conversation.
public final class CuttingProxy: @unchecked Sendable {
    public enum Cut: Sendable {
        case afterServerBytes(Int)
        case onClientText(String, occurrence: Int)
    }

    public let port: Int
    private let target: (host: String, port: Int)
    private let listener: Int32
    private let lock = NSLock()
    private var cut: Cut?
    private var seen = 0
    private var stopped = false
    /// Whether the cut happened.
    public private(set) var didCut = false

    public init(to port: Int, host: String = "127.0.0.1", cut: Cut) throws {
        target = (host, port)
        self.cut = cut
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw HarnessError(message: "proxy: socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw HarnessError(message: "proxy: bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    public func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            guard let server = connectTarget() else {
                close(client)
                continue
            }
            let connection = Pair(client: client, server: server)
            Thread.detachNewThread { [self] in pump(connection, fromClient: true) }
            Thread.detachNewThread { [self] in pump(connection, fromClient: false) }
        }
    }

    private func connectTarget() -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(target.host)
        address.sin_port = in_port_t(UInt16(target.port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// Both ends of one relayed connection; closed once.
    final class Pair: @unchecked Sendable {
        let client: Int32
        let server: Int32
        private let lock = NSLock()
        private var closed = false
        var serverBytes = 0

        init(client: Int32, server: Int32) {
            self.client = client
            self.server = server
        }

        func close() {
            lock.withLock {
                guard !closed else { return }
                closed = true
                shutdown(client, Int32(SHUT_RDWR))
                shutdown(server, Int32(SHUT_RDWR))
                Glibc.close(client)
                Glibc.close(server)
            }
        }
    }

    /// Whether this chunk triggers the cut (at most once for the proxy's life).
    private func cuts(_ bytes: ArraySlice<UInt8>, fromClient: Bool, _ pair: Pair) -> Bool {
        lock.withLock {
            guard let cut, !didCut else { return false }
            switch cut {
            case .afterServerBytes(let limit):
                guard !fromClient else { return false }
                pair.serverBytes += bytes.count
                guard pair.serverBytes >= limit else { return false }
            case .onClientText(let text, let occurrence):
                guard fromClient, String(decoding: bytes, as: UTF8.self).contains(text) else { return false }
                seen += 1
                guard seen >= occurrence else { return false }
            }
            didCut = true
            return true
        }
    }

    private func pump(_ pair: Pair, fromClient: Bool) {
        let from = fromClient ? pair.client : pair.server
        let to = fromClient ? pair.server : pair.client
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            if cuts(buffer[0..<count], fromClient: fromClient, pair) { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else {
                    pair.close()
                    return
                }
                offset += written
            }
        }
        pair.close()
    }
}
