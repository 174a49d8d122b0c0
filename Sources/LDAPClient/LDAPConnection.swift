import CLDAP
import Dispatch
import LDAPModel
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How to reach a server.
public struct LDAPConnectionOptions: Sendable, Hashable {
    /// `ldap://host:port`, `ldaps://host:port` or `ldapi://%2Fpath%2Fto%2Fsocket`.
    public var uri: String
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    public var startTLS: Bool
    /// PEM file of the CA certificates that may sign the server's certificate.
    public var caFile: String?
    /// Client certificate and key, for SASL EXTERNAL over TLS.
    public var certificateFile: String?
    public var keyFile: String?
    /// Verify the server certificate and its host name. On by default; turn off only for tests.
    public var verifyCertificate: Bool
    /// Time allowed to establish the TCP connection, in seconds.
    public var connectTimeout: Double
    /// Time allowed for any one operation's answer, in seconds.
    public var operationTimeout: Double

    public init(
        uri: String, startTLS: Bool = false, caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
        verifyCertificate: Bool = true, connectTimeout: Double = 10, operationTimeout: Double = 120
    ) {
        self.uri = uri
        self.startTLS = startTLS
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.verifyCertificate = verifyCertificate
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
    }
}

/// Who to bind as. Passwords come from files or the environment, never from the command line.
public enum LDAPCredentials: Sendable, Hashable {
    case anonymous
    case simple(dn: String, password: [UInt8])
    /// A SASL mechanism libsasl2 offers: EXTERNAL (ldapi peer credentials or a TLS client certificate),
    /// or a password mechanism such as PLAIN, DIGEST-MD5 or SCRAM-SHA-256.
    case sasl(mechanism: String, authenticationID: String? = nil, password: String? = nil, realm: String? = nil, authorizationID: String? = nil)
}

/// One connection to a directory server; the only owner of its `LDAP*` handle.
///
/// libldap's calls block, so every call runs on the connection's own serial queue, off Swift's
/// cooperative pool; the handle is lent to code only inside `run { ld in … }` on that queue.
public final class LDAPConnection: @unchecked Sendable {
    public let options: LDAPConnectionOptions
    let logger: Logger
    private let handle: OpaquePointer
    private let queue: DispatchQueue
    private var isOpen = true  // touched only on `queue`
    /// What `isSafeForNoOp` has learnt: attribute descriptions (lower-cased) stored in the server's
    /// databases (true) or not (false), and the naming contexts.
    let noOpKnowledge = Mutex(NoOpKnowledge())

    private init(handle: OpaquePointer, options: LDAPConnectionOptions, logger: Logger) {
        self.handle = handle
        self.options = options
        self.logger = logger
        self.queue = DispatchQueue(label: "bridgehead.ldap")
    }

    deinit {
        if isOpen { ldap_unbind_ext_s(handle, nil, nil) }
    }

    /// libldap writes to its sockets with plain write(2): when the server has gone away, the kernel
    /// sends SIGPIPE, which would end the whole process before libldap could report "server down".
    /// Ignored once, for the process (the answer is then EPIPE, and LDAP_SERVER_DOWN).
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Connects, optionally upgrades with StartTLS, and binds.
    public static func connect(
        _ options: LDAPConnectionOptions, credentials: LDAPCredentials = .anonymous,
        logger: Logger = Logger(label: "bridgehead.ldap")
    ) async throws(LDAPError) -> LDAPConnection {
        let operation = "connect \(options.uri)"
        ignoreBrokenPipes
        var ld: OpaquePointer?
        let rc = ldap_initialize(&ld, options.uri)
        guard rc == LDAP_SUCCESS, let ld else {
            throw LDAPError(code: ResultCode(rawValue: rc), diagnosticMessage: "cannot use URI '\(options.uri)'", operation: operation)
        }
        let connection = LDAPConnection(handle: ld, options: options, logger: logger)
        try await connection.run { ld throws(LDAPError) in
            try Self.configure(ld, options, operation: operation)
            if options.startTLS {
                try check(ld, ldap_start_tls_s(ld, nil, nil), operation: "StartTLS with \(options.uri)")
            }
            try Self.bind(ld, credentials, operation: "bind to \(options.uri)")
            // (Without it, libldap still works: two read(2) calls and a poll per message.)
            _ = bh_add_readahead(ld, Self.readAhead)
        }
        logger.debug("connected", metadata: ["uri": "\(options.uri)"])
        return connection
    }

    /// Bytes libldap's connection reads from its socket at once (`bh_add_readahead`): many entries
    /// of a search, where it would otherwise make two system calls and a poll for each.
    static let readAhead: Int32 = 64 << 10

    /// Whether the connection reads through liblber's read-ahead layer.
    var readsAhead: Bool {
        get async {
            (try? await run { ld throws(LDAPError) in bh_reads_ahead(ld) == 1 }) ?? false
        }
    }

    private static func configure(_ ld: OpaquePointer, _ options: LDAPConnectionOptions, operation: String) throws(LDAPError) {
        var version: Int32 = 3
        try setOption(ld, LDAP_OPT_PROTOCOL_VERSION, &version, operation)
        var connectTimeout = timeval(seconds: options.connectTimeout)
        try setOption(ld, LDAP_OPT_NETWORK_TIMEOUT, &connectTimeout, operation)
        try checkOption(ld, ldap_set_option(ld, LDAP_OPT_REFERRALS, bh_opt_off()), operation)
        try checkOption(ld, ldap_set_option(ld, LDAP_OPT_RESTART, bh_opt_on()), operation)
        let lower = options.uri.lowercased()
        guard options.startTLS || lower.hasPrefix("ldaps://") else { return }
        var require: Int32 = options.verifyCertificate ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER
        try setOption(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require, operation)
        for (option, path) in [
            (LDAP_OPT_X_TLS_CACERTFILE, options.caFile), (LDAP_OPT_X_TLS_CERTFILE, options.certificateFile),
            (LDAP_OPT_X_TLS_KEYFILE, options.keyFile),
        ] {
            guard let path else { continue }
            try checkOption(ld, path.withCString { ldap_set_option(ld, option, $0) }, operation)
        }
        var server: Int32 = 0
        try setOption(ld, LDAP_OPT_X_TLS_NEWCTX, &server, operation)
    }

    private static func setOption<T>(_ ld: OpaquePointer, _ option: Int32, _ value: inout T, _ operation: String) throws(LDAPError) {
        let rc = withUnsafeMutablePointer(to: &value) { ldap_set_option(ld, option, $0) }
        try checkOption(ld, rc, operation)
    }

    private static func checkOption(_ ld: OpaquePointer, _ rc: Int32, _ operation: String) throws(LDAPError) {
        guard rc == LDAP_OPT_SUCCESS else {
            throw LDAPError(code: ResultCode(rawValue: rc), diagnosticMessage: "cannot set a connection option", operation: operation)
        }
    }

    private static func bind(_ ld: OpaquePointer, _ credentials: LDAPCredentials, operation: String) throws(LDAPError) {
        switch credentials {
        case .anonymous:
            var empty = CLDAP.berval(bv_len: 0, bv_val: nil)
            try check(ld, ldap_sasl_bind_s(ld, "", nil, &empty, nil, nil, nil), operation: operation)
        case .simple(let dn, let password):
            let arena = CArena()
            let credential = arena.berval(password)
            try check(ld, ldap_sasl_bind_s(ld, dn, nil, credential, nil, nil, nil), operation: "\(operation) as \(dn)")
        case .sasl(let mechanism, let authenticationID, let password, let realm, let authorizationID):
            let arena = CArena()
            var defaults = bh_sasl_defaults(
                authcid: arena.optionalString(authenticationID).map { UnsafePointer($0) },
                passwd: arena.optionalString(password).map { UnsafePointer($0) },
                realm: arena.optionalString(realm).map { UnsafePointer($0) },
                authzid: arena.optionalString(authorizationID).map { UnsafePointer($0) })
            let rc = mechanism.withCString { bh_sasl_interactive_bind(ld, $0, nil, &defaults) }
            try check(ld, rc, operation: "\(operation) with SASL \(mechanism)")
        }
    }

    /// Runs `body` with the handle on the connection's queue.
    func run<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws(LDAPError) -> T) async throws(LDAPError) -> T {
        let result: Result<T, LDAPError> = await withCheckedContinuation { continuation in
            queue.async {
                guard self.isOpen else {
                    continuation.resume(
                        returning: .failure(LDAPError(code: .serverDown, diagnosticMessage: "connection is closed", operation: "use connection")))
                    return
                }
                continuation.resume(returning: Result { () throws(LDAPError) -> T in try body(self.handle) })
            }
        }
        return try result.get()
    }

    /// Unbinds and releases the handle. Later calls fail with `serverDown`.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if self.isOpen {
                    self.isOpen = false
                    ldap_unbind_ext_s(self.handle, nil, nil)
                }
                continuation.resume()
            }
        }
    }

    var timeout: timeval { timeval(seconds: options.operationTimeout) }
}

/// Turns a libldap return code into an error carrying the server's diagnostic message and matched DN.
func check(_ ld: OpaquePointer, _ rc: Int32, operation: String) throws(LDAPError) {
    guard rc != LDAP_SUCCESS else { return }
    throw lastError(ld, rc, operation: operation)
}

/// The error libldap recorded on the handle for its last failure.
func lastError(_ ld: OpaquePointer, _ rc: Int32, operation: String) -> LDAPError {
    var message: UnsafeMutablePointer<CChar>?
    _ = ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &message)
    var matched: UnsafeMutablePointer<CChar>?
    _ = ldap_get_option(ld, LDAP_OPT_MATCHED_DN, &matched)
    var text = takeString(message)
    if text.isEmpty, let generic = ldap_err2string(rc) { text = String(cString: generic) }
    return LDAPError(code: ResultCode(rawValue: rc), diagnosticMessage: text, matchedDN: takeString(matched), operation: operation)
}

extension timeval {
    init(seconds: Double) {
        let whole = Int(seconds)
        self.init(tv_sec: whole, tv_usec: Int((seconds - Double(whole)) * 1_000_000))
    }
}
