import CLDAP
import LDAPModel

#if canImport(Glibc)
    import Glibc
#endif

/// A search (RFC 4511 §4.5.1).
public struct SearchRequest: Sendable, Hashable {
    public var base: DN
    public var scope: SearchScope
    public var filter: Filter
    /// Attribute descriptions to return; nil for all user attributes, `["+"]` for operational ones.
    public var attributes: [String]?
    /// Most entries the server should return (0: no limit beyond the server's).
    public var sizeLimit: Int32
    /// Seconds the server may spend (0: no limit beyond the server's).
    public var timeLimit: Int32
    /// Ask for the results in pages of this size (RFC 2696); nil for one unpaged search.
    public var pageSize: Int32?
    public var controls: [Control]

    public init(
        base: DN, scope: SearchScope = .subtree, filter: Filter = .any, attributes: [String]? = nil,
        sizeLimit: Int32 = 0, timeLimit: Int32 = 0, pageSize: Int32? = nil, controls: [Control] = []
    ) {
        self.base = base
        self.scope = scope
        self.filter = filter
        self.attributes = attributes
        self.sizeLimit = sizeLimit
        self.timeLimit = timeLimit
        self.pageSize = pageSize
        self.controls = controls
    }
}

extension LDAPConnection {
    /// Runs a search, following paged-results cookies until the last page. Values are bytes.
    public func search(_ request: SearchRequest) async throws(LDAPError) -> [Entry] {
        var entries: [Entry] = []
        var cookie: [UInt8] = []
        repeat {
            let page = try await self.page(request, cookie: cookie)
            entries += page.entries
            cookie = page.cookie
        } while !cookie.isEmpty
        return entries
    }

    /// Runs a search and hands its entries to `body` a page at a time, so that a search of any size
    /// is never held whole (`request.pageSize` sets how many at a time; unpaged, all come at once).
    /// The next page is asked for before `body` gets this one, so the server and the connection work
    /// on it while `body` does (at most two pages are held). Throws what the search or `body` throws.
    public func search(_ request: SearchRequest, eachPage body: ([Entry]) async throws -> Void) async throws {
        var page = try await self.page(request, cookie: [])
        while !page.cookie.isEmpty {
            let cookie = page.cookie
            async let next = self.page(request, cookie: cookie)
            try await body(page.entries)
            page = try await next
        }
        try await body(page.entries)
    }

    /// One page of a search, and the cookie for the next (empty: it was the last).
    private func page(_ request: SearchRequest, cookie: [UInt8]) async throws(LDAPError) -> (entries: [Entry], cookie: [UInt8]) {
        let timeout = self.timeout
        return try await run { ld throws(LDAPError) in
            var entries: [Entry] = []
            var controls = request.controls
            if let pageSize = request.pageSize {
                controls.append(Control(oid: Control.OIDs.pagedResults, isCritical: false, value: pagedValue(pageSize, cookie)))
            }
            let result = try searchOnce(ld, request, controls: controls, timeout: timeout, into: &entries)
            var next: [UInt8] = []
            if request.pageSize != nil, let response = result.controls.first(where: { $0.oid == Control.OIDs.pagedResults }) {
                next = (try? pagedCookie(response.value ?? [])) ?? []
            }
            return (entries, next)
        }
    }

    /// At most `limit` entries of a search, unpaged: reaching the limit is not an error here.
    public func search(_ request: SearchRequest, atMost limit: Int32) async throws(LDAPError) -> [Entry] {
        let timeout = self.timeout
        var copy = request
        copy.sizeLimit = limit
        copy.pageSize = nil
        let limited = copy
        return try await run { ld throws(LDAPError) in
            var entries: [Entry] = []
            _ = try searchOnce(ld, limited, controls: limited.controls, timeout: timeout, into: &entries, limited: true)
            return entries
        }
    }

    public func search(
        base: DN, scope: SearchScope = .subtree, filter: Filter = .any, attributes: [String]? = nil, pageSize: Int32? = nil
    ) async throws(LDAPError) -> [Entry] {
        try await search(SearchRequest(base: base, scope: scope, filter: filter, attributes: attributes, pageSize: pageSize))
    }

    /// Reads one entry, or nil when it does not exist.
    public func read(_ dn: DN, attributes: [String]? = nil) async throws(LDAPError) -> Entry? {
        do {
            return try await search(SearchRequest(base: dn, scope: .base, attributes: attributes)).first
        } catch  where error.code == .noSuchObject {
            return nil
        }
    }

    /// The root DSE with its operational attributes (naming contexts, supported controls and extensions).
    public func rootDSE() async throws(LDAPError) -> Entry {
        guard let entry = try await read(.root, attributes: ["*", "+"]) else {
            throw LDAPError(code: .noSuchObject, diagnosticMessage: "the server returned no root DSE", operation: "read root DSE")
        }
        return entry
    }

    /// The subschema the server publishes (RFC 4512 §4.2): attribute types and object classes.
    public func subschema() async throws(LDAPError) -> Subschema {
        let root = try await rootDSE()
        let location = root.strings("subschemaSubentry").first ?? "cn=Subschema"
        guard let dn = DN(location) else {
            throw LDAPError(code: .invalidDNSyntax, diagnosticMessage: "subschemaSubentry '\(location)' is not a DN", operation: "read subschema")
        }
        let request = SearchRequest(
            base: dn, scope: .base, filter: .equality("objectClass", "subschema"),
            attributes: ["attributeTypes", "objectClasses", "ldapSyntaxes", "matchingRules"])
        guard let entry = try await search(request).first else {
            throw LDAPError(code: .noSuchObject, diagnosticMessage: "no subschema entry at \(location)", operation: "read subschema")
        }
        return Subschema(entry: entry)
    }
}

/// One search operation (one page); appends entries, returns the final result.
private func searchOnce(
    _ ld: OpaquePointer, _ request: SearchRequest, controls: [Control], timeout: timeval, into entries: inout [Entry], limited: Bool = false
) throws(LDAPError) -> LDAPResult {
    let operation = "search \(request.base) \(request.filter)"
    let msgid = try startSearch(ld, request, controls: controls, operation: operation)
    var names = AttributeNames()
    while true {
        let message = try awaitMessage(ld, msgid: msgid, timeout: timeout, all: false, operation: operation)
        guard let result = try takeSearchMessage(ld, message, operation: operation, into: &entries, names: &names) else { continue }
        guard result.code == .success || (limited && result.code == .sizeLimitExceeded) else { throw result.error(operation) }
        return result
    }
}

/// Sends a search request; returns its message id.
private func startSearch(_ ld: OpaquePointer, _ request: SearchRequest, controls: [Control], operation: String) throws(LDAPError) -> Int32 {
    let arena = CArena()
    var msgid: Int32 = 0
    // The time limit the server is asked to keep (0: none beyond its own); waiting for answers is
    // bounded separately by the connection's operation timeout.
    var limit = timeval(seconds: Double(request.timeLimit))
    let rc = withUnsafeMutablePointer(to: &limit) { limitPointer in
        ldap_search_ext(
            ld, request.base.description, request.scope.rawValue, request.filter.description, arena.strings(request.attributes), 0,
            arena.controls(controls), nil, request.timeLimit > 0 ? limitPointer : nil, request.sizeLimit, &msgid)
    }
    try check(ld, rc, operation: operation)
    return msgid
}

/// Takes (and frees) one message of a search: an entry is appended; the final result is returned.
/// References and intermediate responses are not followed.
private func takeSearchMessage(
    _ ld: OpaquePointer, _ message: OpaquePointer, operation: String, into entries: inout [Entry], names: inout AttributeNames
) throws(LDAPError) -> LDAPResult? {
    switch UInt(bitPattern: Int(ldap_msgtype(message))) {
    case UInt(LDAP_RES_SEARCH_ENTRY):
        defer { ldap_msgfree(message) }
        entries.append(try entry(ld, message, operation: operation, names: &names))
        return nil
    case UInt(LDAP_RES_SEARCH_RESULT):
        return try parseResult(ld, message, operation: operation)
    default:
        ldap_msgfree(message)
        return nil
    }
}

/// The attribute descriptions of the last entry read, by position (`PositionalMemo`): a name the
/// same bytes as the one at its place before is not made into a String and checked again.
struct AttributeNames {
    private var memo = PositionalMemo<[UInt8], AttributeDescription>()

    mutating func description(_ name: berval, at index: Int) -> AttributeDescription {
        let raw = UnsafeRawBufferPointer(start: name.bv_val, count: Int(name.bv_len))
        return memo.value(at: index, isSame: { $0.elementsEqual(raw) }) {
            let bytes = Array(raw)
            let text = String(decoding: bytes, as: UTF8.self)
            return (bytes, AttributeDescription(text) ?? AttributeDescription(type: text))
        }
    }
}

/// Copies one SearchResultEntry out of libldap, values as bytes.
private func entry(_ ld: OpaquePointer, _ message: OpaquePointer, operation: String, names: inout AttributeNames) throws(LDAPError) -> Entry {
    // One pass over the entry's BER, as ldapsearch reads it (ldap_get_values_len would scan the
    // entry again from its start for every attribute).
    var ber: OpaquePointer?
    defer { if let ber { ber_free(ber, 0) } }
    var name = berval()
    guard ldap_get_dn_ber(ld, message, &ber, &name) == LDAP_SUCCESS else {
        throw LDAPError(code: .decodingError, diagnosticMessage: "the server's entry cannot be read", operation: operation)
    }
    let dnText = String(decoding: bytes(of: name), as: UTF8.self)
    guard let dn = DN(dnText) else {
        throw LDAPError(code: .invalidDNSyntax, diagnosticMessage: "server returned an unparsable DN '\(dnText)'", operation: operation)
    }
    var attributes: [Attribute] = []
    var values: UnsafeMutablePointer<berval>?
    while ldap_get_attribute_ber(ld, message, ber, &name, &values) == LDAP_SUCCESS, name.bv_val != nil {
        let description = names.description(name, at: attributes.count)
        var collected: [[UInt8]] = []
        if let values {
            var index = 0
            while values[index].bv_val != nil {
                collected.append(bytes(of: values[index]))
                index += 1
            }
            ber_memfree(values)
        }
        values = nil
        attributes.append(Attribute(description, values: collected))
    }
    return Entry(dn: dn, attributes: attributes)
}

// realSearchControlValue ::= SEQUENCE { size INTEGER (0..maxInt), cookie OCTET STRING }  (RFC 2696)
private func pagedValue(_ size: Int32, _ cookie: [UInt8]) -> [UInt8] {
    BER.sequence([BER.integer(Int(size)), BER.octetString(cookie)])
}

private func pagedCookie(_ value: [UInt8]) throws -> [UInt8] {
    let outer = try BER.elements(value)
    guard outer.count == 1, outer[0].tag == 0x30 else { return [] }
    let fields = try BER.elements(outer[0].contents)
    guard fields.count == 2, fields[1].tag == 0x04 else { return [] }
    return fields[1].contents
}

extension LDAPConnection {
    /// Reads many entries at once: base-scope searches sent without waiting for each answer (up to
    /// `window` outstanding), answers matched by message id. One result per DN, in order; nil where the
    /// entry does not exist.
    public func read(_ dns: [DN], attributes: [String]? = nil, window: Int = 64) async throws(LDAPError) -> [Entry?] {
        try await searchEach(dns, scope: .base, attributes: attributes, window: window).map(\.first)
    }

    /// The entries right below each of `dns` (one-level searches, pipelined like `read`): their DNs
    /// only. Empty for a leaf, and for a DN that does not exist; only some of them when there are more
    /// than the server's size limit allows.
    public func children(_ dns: [DN], window: Int = 64) async throws(LDAPError) -> [[DN]] {
        try await searchEach(dns, scope: .oneLevel, attributes: ["1.1"], window: window).map { $0.map(\.dn) }
    }

    /// One search per base, all entries of each; noSuchObject gives none.
    private func searchEach(_ bases: [DN], scope: SearchScope, attributes: [String]?, window: Int) async throws(LDAPError) -> [[Entry]] {
        let timeout = self.timeout
        return try await run { ld throws(LDAPError) in
            var results = [[Entry]](repeating: [], count: bases.count)
            var outstanding: [Int32: (index: Int, operation: String)] = [:]
            var names = AttributeNames()
            var next = 0
            while next < bases.count || !outstanding.isEmpty {
                while next < bases.count, outstanding.count < max(window, 1) {
                    let operation = "search \(bases[next])"
                    let request = SearchRequest(base: bases[next], scope: scope, attributes: attributes)
                    outstanding[try startSearch(ld, request, controls: [], operation: operation)] = (next, operation)
                    next += 1
                }
                let message = try awaitMessage(ld, msgid: LDAP_RES_ANY, timeout: timeout, all: false, operation: "search entries")
                let msgid = ldap_msgid(message)
                guard let (index, operation) = outstanding[msgid] else {
                    ldap_msgfree(message)
                    continue
                }
                guard let result = try takeSearchMessage(ld, message, operation: operation, into: &results[index], names: &names) else { continue }
                outstanding[msgid] = nil
                // A size limit (500 entries for a non-rootdn bind, by default) ends a one-level search
                // early: what came is a part of the children, and says at least that there are some.
                guard result.code == .success || result.code == .noSuchObject || (scope == .oneLevel && result.code == .sizeLimitExceeded)
                else { throw result.error(operation) }
            }
            return results
        }
    }
}
