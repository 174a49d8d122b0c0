import CLDAP
import LDAPModel

#if canImport(Glibc)
    import Glibc
#endif

extension LDAPConnection {
    /// Sends one change record as its request (add, delete, modify, modrdn) and waits for the answer.
    /// Throws unless the server answered success.
    @discardableResult
    public func apply(_ record: ChangeRecord, controls: [Control] = []) async throws(LDAPError) -> LDAPResult {
        let result = try await pipeline([record], controls: controls)[0]
        guard result.code == .success else { throw result.error(record.summary) }
        if !controls.contains(where: { $0.oid == Control.OIDs.noOp }) { noteStored([record]) }
        return result
    }

    /// Asks the server to check `record` with the No-Op control: schema, access and existence are
    /// verified, nothing is written. Returns the check's outcome as an error, or nil when it would succeed.
    /// Throws `notSupported` without asking when the check could corrupt the database (`isSafeForNoOp`).
    public func validate(_ record: ChangeRecord) async throws(LDAPError) -> LDAPError? {
        guard try await isSafeForNoOp(record) else {
            throw LDAPError(
                code: .notSupported,
                diagnosticMessage: "not checked: it stores an attribute this database has never stored, which slapd's No-Op check would corrupt",
                operation: record.summary)
        }
        let result = try await pipeline([record], controls: [.noOp])[0]
        if result.code == .noOperation || result.code == .success { return nil }
        return result.error(record.summary)
    }

    public func add(_ entry: Entry, controls: [Control] = []) async throws(LDAPError) -> LDAPResult {
        try await apply(.add(entry), controls: controls)
    }

    @discardableResult
    public func modify(_ dn: DN, _ modifications: [Modification], controls: [Control] = []) async throws(LDAPError) -> LDAPResult {
        try await apply(ChangeRecord(dn: dn, change: .modify(modifications)), controls: controls)
    }

    @discardableResult
    public func delete(_ dn: DN, controls: [Control] = []) async throws(LDAPError) -> LDAPResult {
        try await apply(ChangeRecord(dn: dn, change: .delete), controls: controls)
    }

    @discardableResult
    public func modifyDN(
        _ dn: DN, newRDN: RDN, deleteOldRDN: Bool, newSuperior: DN? = nil, controls: [Control] = []
    )
        async throws(LDAPError) -> LDAPResult
    {
        try await apply(
            ChangeRecord(dn: dn, change: .modifyDN(newRDN: newRDN, deleteOldRDN: deleteOldRDN, newSuperior: newSuperior)), controls: controls)
    }

    /// Compares one value of an entry (RFC 4511 §4.10): true for compareTrue, false for compareFalse.
    public func compare(_ dn: DN, attribute: AttributeDescription, value: [UInt8], controls: [Control] = []) async throws(LDAPError) -> Bool {
        let timeout = self.timeout
        return try await run { ld throws(LDAPError) in
            let operation = "compare \(attribute) of \(dn)"
            let arena = CArena()
            var msgid: Int32 = 0
            let rc = ldap_compare_ext(
                ld, dn.description, attribute.description, arena.berval(value), arena.controls(controls), nil, &msgid)
            try check(ld, rc, operation: operation)
            let result = try awaitResult(ld, msgid: msgid, timeout: timeout, operation: operation).result
            switch result.code {
            case .compareTrue: return true
            case .compareFalse: return false
            default: throw result.error(operation)
            }
        }
    }

    /// Sends many requests without waiting for each answer: up to `window` are outstanding at once and
    /// answers are matched to requests by message id. Returns one result per record, in order; a refusal
    /// of one record is its result, not an error. Throws only when the connection fails.
    ///
    /// The server may execute outstanding requests in any order (slapd runs them on several threads):
    /// pipeline only operations that do not depend on each other, or pass `window: 1`.
    public func pipeline(_ records: [ChangeRecord], controls: [Control] = [], window: Int = 256) async throws(LDAPError) -> [LDAPResult] {
        let timeout = self.timeout
        return try await run { ld throws(LDAPError) in
            var results = [LDAPResult?](repeating: nil, count: records.count)
            var outstanding: [Int32: Int] = [:]
            var next = 0
            while next < records.count || !outstanding.isEmpty {
                while next < records.count, outstanding.count < max(window, 1) {
                    let msgid = try submit(ld, records[next], controls: records[next].controls + controls)
                    outstanding[msgid] = next
                    next += 1
                }
                let (msgid, result) = try awaitResult(ld, msgid: LDAP_RES_ANY, timeout: timeout, operation: "pipelined operations")
                guard let index = outstanding.removeValue(forKey: msgid) else { continue }
                results[index] = result
            }
            return results.map { $0! }
        }
    }
}

extension ChangeRecord {
    /// "modify cn=x,dc=example,dc=com", for messages.
    public var summary: String { "\(changeType) \(dn)" }
}

/// Encodes `record` as its request and sends it; returns the message id.
func submit(_ ld: OpaquePointer, _ record: ChangeRecord, controls: [Control]) throws(LDAPError) -> Int32 {
    let arena = CArena()
    let serverControls = arena.controls(controls)
    let dn = arena.string(record.dn.description)
    var msgid: Int32 = 0
    let rc: Int32
    switch record.change {
    case .add(let attributes):
        rc = ldap_add_ext(ld, dn, arena.attributes(attributes), serverControls, nil, &msgid)
    case .delete:
        rc = ldap_delete_ext(ld, dn, serverControls, nil, &msgid)
    case .modify(let modifications):
        rc = ldap_modify_ext(ld, dn, arena.modifications(modifications), serverControls, nil, &msgid)
    case .modifyDN(let newRDN, let deleteOldRDN, let newSuperior):
        rc = ldap_rename(
            ld, dn, newRDN.description, newSuperior.map { arena.string($0.description) }, deleteOldRDN ? 1 : 0,
            serverControls, nil, &msgid)
    }
    try check(ld, rc, operation: record.summary)
    return msgid
}

/// Waits for the complete answer to `msgid` (or to any request, for LDAP_RES_ANY), frees the message,
/// and returns the message id it answered with its parsed result.
func awaitResult(_ ld: OpaquePointer, msgid: Int32, timeout: timeval, operation: String) throws(LDAPError) -> (msgid: Int32, result: LDAPResult) {
    let message = try awaitMessage(ld, msgid: msgid, timeout: timeout, operation: operation)
    let id = ldap_msgid(message)
    var result = try parseResult(ld, message, operation: operation)
    result.messageID = id
    return (id, result)
}

/// Waits for the complete answer to `msgid`; the caller owns (and must free) the message.
func awaitMessage(_ ld: OpaquePointer, msgid: Int32, timeout: timeval, all: Bool = true, operation: String) throws(LDAPError) -> OpaquePointer {
    var limit = timeout
    var message: OpaquePointer?
    let type = ldap_result(ld, msgid, all ? LDAP_MSG_ALL : LDAP_MSG_ONE, &limit, &message)
    if type == 0 {
        if msgid != LDAP_RES_ANY { _ = ldap_abandon_ext(ld, msgid, nil, nil) }
        throw LDAPError(code: .timeout, diagnosticMessage: "no answer within \(timeout.tv_sec) seconds", operation: operation)
    }
    guard type > 0, let message else {
        var rc: Int32 = 0
        _ = ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc)
        throw lastError(ld, rc == 0 ? -1 : rc, operation: operation)
    }
    return message
}

/// Parses (and frees) a result message.
func parseResult(_ ld: OpaquePointer, _ message: OpaquePointer, operation: String) throws(LDAPError) -> LDAPResult {
    var code: Int32 = 0
    var matched: UnsafeMutablePointer<CChar>?
    var diagnostic: UnsafeMutablePointer<CChar>?
    var referrals: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    var controls: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
    let rc = ldap_parse_result(ld, message, &code, &matched, &diagnostic, &referrals, &controls, 1)
    try check(ld, rc, operation: operation)
    var referralList: [String] = []
    if let referrals {
        var index = 0
        while let referral = referrals[index] {
            referralList.append(String(cString: referral))
            index += 1
        }
        ldap_memvfree(UnsafeMutablePointer(OpaquePointer(referrals)))
    }
    return LDAPResult(
        code: ResultCode(rawValue: code), diagnosticMessage: takeString(diagnostic), matchedDN: takeString(matched),
        referrals: referralList, controls: takeControls(controls))
}

extension LDAPConnection {
    /// Creates `dn` as an organizationalUnit when it is missing (a container the agent keeps its state
    /// in); `purpose` names the setting in the error when it does not exist and is not an `ou=`.
    public func ensureOrganizationalUnit(_ dn: DN, purpose: String) async throws(LDAPError) {
        guard try await read(dn, attributes: ["1.1"]) == nil else { return }
        guard let rdn = dn.rdn, rdn.attributes.count == 1, rdn.attributes[0].type.lowercased() == "ou" else {
            throw LDAPError(
                code: .noSuchObject, diagnosticMessage: "\(purpose) \(dn) does not exist; create it, or name it ou=…",
                operation: "prepare the state container")
        }
        let result = try await pipeline([
            .add(
                Entry(
                    dn: dn,
                    attributes: [Attribute("objectClass", strings: ["organizationalUnit"]), Attribute("ou", values: [rdn.attributes[0].value])]))
        ])[0]
        // Another agent on the same directory may have made it meanwhile.
        guard result.code == .success || result.code == .entryAlreadyExists else { throw result.error("add \(dn)") }
    }
}
