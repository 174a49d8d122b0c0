import CLDAP
import LDAPModel

#if canImport(Glibc)
    import Glibc
#endif

/// An RFC 5805 transaction: operations sent with its `control` are held by the server until
/// `commit` applies all of them at once, or `abort` drops them.
public struct LDAPTransaction: Sendable, Hashable {
    public let identifier: [UInt8]

    /// The Transaction Specification control to attach to every operation of the transaction.
    public var control: Control {
        Control(oid: Control.OIDs.transactionSpecification, isCritical: true, value: identifier)
    }
}

/// The answer to an extended operation.
public struct ExtendedResult: Sendable, Hashable {
    public var result: LDAPResult
    public var responseName: String?
    public var responseValue: [UInt8]?
}

extension LDAPConnection {
    public enum ExtendedOIDs {
        public static let startTransaction = "1.3.6.1.1.21.1"
        public static let endTransaction = "1.3.6.1.1.21.3"
        public static let whoAmI = "1.3.6.1.4.1.4203.1.11.3"
    }

    /// Sends an extended request (RFC 4511 §4.12). Throws unless the server answered success.
    public func extendedOperation(
        _ oid: String, value: [UInt8]? = nil, controls: [Control] = [], throwOnFailure: Bool = true
    ) async throws(LDAPError) -> ExtendedResult {
        let timeout = self.timeout
        return try await run { ld throws(LDAPError) in
            let operation = "extended operation \(oid)"
            let arena = CArena()
            var msgid: Int32 = 0
            let rc = ldap_extended_operation(ld, oid, value.map(arena.berval), arena.controls(controls), nil, &msgid)
            try check(ld, rc, operation: operation)
            let message = try awaitMessage(ld, msgid: msgid, timeout: timeout, operation: operation)
            var name: UnsafeMutablePointer<CChar>?
            var data: UnsafeMutablePointer<CLDAP.berval>?
            let parsed = ldap_parse_extended_result(ld, message, &name, &data, 0)
            if parsed != LDAP_SUCCESS {
                ldap_msgfree(message)
                throw lastError(ld, parsed, operation: operation)
            }
            let responseName = name.map { _ in takeString(name) }
            var responseValue: [UInt8]?
            if let data {
                responseValue = bytes(of: data.pointee)
                ber_bvfree(data)
            }
            let result = try parseResult(ld, message, operation: operation)
            let answer = ExtendedResult(result: result, responseName: responseName, responseValue: responseValue)
            guard result.code == .success || !throwOnFailure else { throw result.error(operation) }
            return answer
        }
    }

    /// The authorization identity of this connection (RFC 4532), e.g. `dn:cn=admin,dc=example,dc=com`.
    public func whoAmI() async throws(LDAPError) -> String {
        let answer = try await extendedOperation(ExtendedOIDs.whoAmI)
        return String(decoding: answer.responseValue ?? [], as: UTF8.self)
    }

    /// Whether the root DSE advertises RFC 5805 transactions.
    public func supportsTransactions() async throws(LDAPError) -> Bool {
        try await transactionSupport() != .unsupported
    }

    /// Whether transactions are offered, and whether they are safe to use on this server.
    public func transactionSupport() async throws(LDAPError) -> TransactionSupport {
        TransactionSupport(rootDSE: try await rootDSE())
    }

    /// Runs `body` inside a transaction (RFC 5805) and commits it when `body` returns; when `body`
    /// throws, the transaction is aborted and the error rethrown. The transaction never outlives the
    /// call. A commit the server refuses throws an error naming the failing operation's message id
    /// (`failedMessageID`), as the server reported it.
    public func withTransaction<T: Sendable>(
        _ body: (LDAPTransaction) async throws(LDAPError) -> T
    ) async throws(LDAPError) -> T {
        let transaction = try await beginTransaction()
        let value: T
        do {
            value = try await body(transaction)
        } catch {
            // After a transport failure there is nothing left to abort: the server drops the
            // transaction with the connection.
            if !error.isTransportFailure { try? await abort(transaction) }
            throw error
        }
        try await commit(transaction)
        return value
    }

    /// Starts a transaction (RFC 5805 Start Transaction request).
    public func beginTransaction() async throws(LDAPError) -> LDAPTransaction {
        // slapd answers with an empty identifier: it allows one transaction per connection.
        let answer = try await extendedOperation(ExtendedOIDs.startTransaction)
        return LDAPTransaction(identifier: answer.responseValue ?? [])
    }

    /// Applies every operation sent under the transaction, or none of them. When one fails the error
    /// names the message id of the failing operation, as the server reports it.
    public func commit(_ transaction: LDAPTransaction) async throws(LDAPError) {
        try await endTransaction(transaction, commit: true)
    }

    /// Drops every operation sent under the transaction.
    public func abort(_ transaction: LDAPTransaction) async throws(LDAPError) {
        try await endTransaction(transaction, commit: false)
    }

    // txnEndReq ::= SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING }
    // txnEndRes ::= SEQUENCE { messageID MessageID OPTIONAL, updatesControls SEQUENCE OF … OPTIONAL }
    private func endTransaction(_ transaction: LDAPTransaction, commit: Bool) async throws(LDAPError) {
        // slapd 2.5 runs End Transaction on another thread at once, while the thread that answered the
        // last operation of the transaction may still be tidying that operation up; End Transaction
        // then frees it under that thread, and slapd crashes (segfaults seen in dmesg under load;
        // docs/slapd-transactions.md). One plain request in between gives that thread time to finish
        // (its answer does not matter: a server without WhoAmI answers it too).
        _ = try await extendedOperation(ExtendedOIDs.whoAmI, throwOnFailure: false)
        var fields: [[UInt8]] = []
        if !commit { fields.append(BER.boolean(false)) }
        fields.append(BER.octetString(transaction.identifier))
        let operation = commit ? "commit transaction" : "abort transaction"
        let answer = try await extendedOperation(ExtendedOIDs.endTransaction, value: BER.sequence(fields), throwOnFailure: false)
        guard answer.result.code != .success else { return }
        var error = answer.result.error(operation)
        if let value = answer.responseValue, let outer = try? BER.elements(value), outer.first?.tag == 0x30,
            let id = (try? BER.elements(outer[0].contents))?.first(where: { $0.tag == 0x02 })
        {
            error.failedMessageID = Int32(truncatingIfNeeded: id.contents.reduce(0) { $0 << 8 | Int($1) })
        }
        throw error
    }
}

/// What a server offers of RFC 5805 transactions, read from its root DSE.
public enum TransactionSupport: Sendable, Hashable {
    /// Not advertised.
    case unsupported
    /// Advertised, and nothing known against them.
    case supported
    /// Advertised, but known to fail on this server in ways a client cannot prevent; the reason says which.
    case unsafe(String)

    /// OpenLDAP's slapd answers every operation of a transaction at once and lets another thread run End
    /// Transaction, which executes and frees the queued operations while the threads that answered them
    /// may still be tidying them up: slapd 2.5.13 (Debian 12) segfaults under load, and no order of
    /// requests on the client's side closes that window (docs/slapd-transactions.md, finding 4).
    static let openLDAPReason =
        "OpenLDAP slapd can crash when a transaction ends while its worker threads still use the transaction's operations "
        + "(seen with slapd 2.5.13; docs/slapd-transactions.md)"

    public init(rootDSE: Entry) {
        guard rootDSE.strings("supportedExtension").contains(LDAPConnection.ExtendedOIDs.startTransaction) else {
            self = .unsupported
            return
        }
        let classes = rootDSE.strings("objectClass").map { $0.lowercased() }
        self = classes.contains("openldaprootdse") ? .unsafe(Self.openLDAPReason) : .supported
    }

    /// Whether to use transactions when the configuration does not say.
    public var isDefault: Bool { self == .supported }
}
