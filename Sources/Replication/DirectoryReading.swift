import LDAPClient
import LDAPModel

/// What planning and address resolution read from the directory, and nothing else: entries by DN,
/// and subtree searches. `LDAPConnection` reads a server; the planner's unit tests read an in-memory
/// directory (`MemoryDirectory` in Tests/ReplicationTests), so a plan can be checked without slapd.
public protocol DirectoryReading: Sendable {
    /// The entries at `dns`, one result per DN in order, nil where there is none. `attributes`:
    /// `["*"]` for all user attributes, `["1.1"]` for none (existence only).
    func entries(at dns: [DN], attributes: [String]) async throws(LDAPError) -> [Entry?]

    /// Every entry in the subtree at `base` (itself included) that `filter` matches, however many
    /// there are (the connection pages: a bind that is not the rootdn sees at most 500 a search on
    /// slapd by default). `noSuchObject` when `base` does not exist.
    func entries(under base: DN, matching filter: Filter, attributes: [String]) async throws(LDAPError) -> [Entry]

    /// The same entries, handed to `body` a page at a time and never held together (a source may own
    /// hundreds of thousands).
    func forEachEntry(under base: DN, matching filter: Filter, attributes: [String], _ body: ([Entry]) -> Void) async throws(LDAPError)
}

extension DirectoryReading {
    /// A directory held in memory hands its entries over at once.
    public func forEachEntry(under base: DN, matching filter: Filter, attributes: [String], _ body: ([Entry]) -> Void) async throws(LDAPError) {
        body(try await entries(under: base, matching: filter, attributes: attributes))
    }
}

extension LDAPConnection: DirectoryReading {
    public func entries(at dns: [DN], attributes: [String]) async throws(LDAPError) -> [Entry?] {
        try await read(dns, attributes: attributes, window: 256)
    }

    public func entries(under base: DN, matching filter: Filter, attributes: [String]) async throws(LDAPError) -> [Entry] {
        try await search(SearchRequest(base: base, scope: .subtree, filter: filter, attributes: attributes, pageSize: 500))
    }

    public func forEachEntry(under base: DN, matching filter: Filter, attributes: [String], _ body: ([Entry]) -> Void) async throws(LDAPError) {
        do {
            try await search(SearchRequest(base: base, scope: .subtree, filter: filter, attributes: attributes, pageSize: 500)) { body($0) }
        } catch let error as LDAPError {
            throw error
        } catch {
            throw LDAPError(code: .other, diagnosticMessage: "\(error)", operation: "search \(base)")
        }
    }
}
