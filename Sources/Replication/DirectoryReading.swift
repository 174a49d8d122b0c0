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
}

extension LDAPConnection: DirectoryReading {
    public func entries(at dns: [DN], attributes: [String]) async throws(LDAPError) -> [Entry?] {
        try await read(dns, attributes: attributes, window: 256)
    }

    public func entries(under base: DN, matching filter: Filter, attributes: [String]) async throws(LDAPError) -> [Entry] {
        try await search(SearchRequest(base: base, scope: .subtree, filter: filter, attributes: attributes, pageSize: 500))
    }
}
