import NIOCore
import NIOPosix
import NIOSSL

/// The one way the mail protocols (IMAP here, SMTP in the publisher) open a TCP connection on
/// SwiftNIO: a connect timeout, TLS from the first byte when asked, then the protocol's handlers.
public enum NIOClient {
    /// A TLS context that verifies the server against `caFile` (or the system's CAs).
    public static func tlsContext(caFile: String?, verify: Bool) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile { configuration.trustRoots = .file(caFile) }
        configuration.certificateVerification = verify ? .fullVerification : .none
        return try NIOSSLContext(configuration: configuration)
    }

    /// SNI and the host name check take a name; for an IP address the certificate must carry that IP.
    public static func tlsHandler(_ context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host)
    }

    /// Connects to `host`:`port`; `tls`: TLS from the first byte; `handlers` adds the protocol's own.
    public static func connect(
        host: String, port: Int, timeout: Double, tls: NIOSSLContext?, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        handlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try tlsHandler(tls, host: host)) }
                    try handlers(channel.pipeline.syncOperations)
                }
            }
            .connect(host: host, port: port).get()
    }
}
