import LDAPModel

/// A rewrite of a source's namespace into ours: `from` (a DN suffix at the source) becomes `to`.
public struct NamingRule: Sendable, Hashable {
    public var from: DN
    public var to: DN

    public init(from: DN, to: DN) {
        self.from = from
        self.to = to
    }
}
