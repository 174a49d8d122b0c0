import Addressing
import LDAPClient
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

/// What an address or source DN resolved to.
public enum Resolution: Sendable, Hashable {
    /// One entry; `via` says how (a naming rule, or the attribute that matched).
    case resolved(DN, via: String)
    /// No entry holds it.
    case notFound
    /// Several entries hold it; none is chosen.
    case ambiguous([DN])
    /// It names a DN outside the subtrees this resolution may reach.
    case outOfScope(DN)
    /// It is not an address or DN at all.
    case invalid(String)
}

/// Resolves addresses and source DNs to target DNs, in this order: the source's naming rules
/// (also for EX DNs, through their LDAP form), then one directory search for all the rest, an OR of
/// equality filters on the configured attributes (values escaped per RFC 4515). Results are cached
/// for the life of the resolver (one run).
public actor AddressResolver {
    public let connection: LDAPConnection
    public let base: DN
    public let attributes: [String]
    public let naming: [NamingRule]
    /// Subtrees a result must lie in; empty: anywhere under `base`.
    public let scope: [DN]
    /// Searches sent so far (the tests count them).
    public private(set) var searches = 0
    private var cache: [String: Resolution] = [:]
    /// Terms per search, so a filter stays a sensible size.
    static let batchSize = 200

    public init(
        connection: LDAPConnection, base: DN, attributes: [String] = ["mail", "proxyAddresses", "legacyExchangeDN"],
        naming: [NamingRule] = [], scope: [DN] = []
    ) {
        self.connection = connection
        self.base = base
        self.attributes = attributes
        self.naming = naming
        self.scope = scope
    }

    public func resolve(_ input: String) async throws(LDAPError) -> Resolution {
        try await resolve([input])[0]
    }

    /// Resolves many at once: everything the naming rules do not settle goes into as few searches as possible.
    public func resolve(_ inputs: [String]) async throws(LDAPError) -> [Resolution] {
        var results = [Resolution?](repeating: nil, count: inputs.count)
        var pending: [(index: Int, key: String, address: Address)] = []
        for (index, input) in inputs.enumerated() {
            if let cached = cache[input] {
                results[index] = cached
                continue
            }
            // A source DN (cn=x,ou=SiteA,o=Org), or an address whose LDAP form a naming rule maps.
            var address: Address?
            var sourceDN: DN?
            if let parsed = try? AddressParser.parse(input) {
                address = parsed
                sourceDN = parsed.distinguishedName
            } else if input.contains("="), let dn = DN(input), !dn.isRoot {
                sourceDN = dn
            } else {
                results[index] = .invalid("'\(input)' is neither an address nor a DN")
                continue
            }
            if let sourceDN, let rule = naming.first(where: { sourceDN.isWithin($0.from) }),
                let target = sourceDN.replacingSuffix(rule.from, with: rule.to)
            {
                results[index] = inScope(target) ? .resolved(target, via: "naming rule \(rule.from) → \(rule.to)") : .outOfScope(target)
                continue
            }
            guard let address else {
                results[index] = .notFound
                continue
            }
            pending.append((index, input, address))
        }
        var start = 0
        while start < pending.count {
            let chunk = Array(pending[start..<min(start + Self.batchSize, pending.count)])
            let found = try await lookup(chunk.map(\.address))
            for (item, resolution) in zip(chunk, found) { results[item.index] = resolution }
            start += Self.batchSize
        }
        for (index, input) in inputs.enumerated() { cache[input] = results[index] }
        return results.map { $0 ?? .notFound }
    }

    private func inScope(_ dn: DN) -> Bool {
        guard dn.isWithin(base) else { return false }
        return scope.isEmpty || scope.contains { dn.isWithin($0) }
    }

    /// The values an entry would hold for `address` in each looked-up attribute.
    private func terms(_ address: Address) -> [Filter] {
        var filters: [Filter] = []
        for attribute in attributes {
            switch attribute.lowercased() {
            case "mail":
                if case .smtp = address.form { filters.append(.equality(AttributeDescription(attribute) ?? "mail", address.value)) }
            case "legacyexchangedn":
                if case .exchange = address.form { filters.append(.equality(AttributeDescription(attribute) ?? "legacyExchangeDN", address.value)) }
                if case .x500 = address.form { filters.append(.equality(AttributeDescription(attribute) ?? "legacyExchangeDN", address.value)) }
            default:
                let description = AttributeDescription(attribute) ?? AttributeDescription(type: attribute)
                filters.append(.equality(description, "\(address.type):\(address.value)"))
                if case .exchange = address.form { filters.append(.equality(description, "X500:\(address.value)")) }
            }
        }
        return filters
    }

    /// One search for all `addresses`; each entry found is matched back by canonical form.
    private func lookup(_ addresses: [Address]) async throws(LDAPError) -> [Resolution] {
        let filters = addresses.flatMap(terms)
        guard !filters.isEmpty else { return addresses.map { _ in .notFound } }
        searches += 1
        let entries = try await connection.search(
            SearchRequest(base: base, scope: .subtree, filter: filters.count == 1 ? filters[0] : .or(filters), attributes: attributes))
        // Every address form each entry holds, canonically.
        let held: [(dn: DN, forms: Set<String>, via: [String: String])] = entries.map { entry in
            var forms: Set<String> = []
            var via: [String: String] = [:]
            for attribute in entry.attributes {
                for value in attribute.values {
                    let text = String(decoding: value, as: UTF8.self)
                    let candidates: [String]
                    switch attribute.description.type.lowercased() {
                    case "mail": candidates = ["SMTP:" + text]
                    case "legacyexchangedn": candidates = ["EX:" + text, "X500:" + text]
                    default: candidates = [text]
                    }
                    for candidate in candidates {
                        guard let address = try? AddressParser.parse(candidate) else { continue }
                        forms.insert(address.canonical)
                        via[address.canonical] = attribute.description.type
                        // An X500 proxy names the same mailbox as its EX form.
                        if case .x500(let rdns) = address.form {
                            let ex = "EX:" + rdns.map { "/\($0.type)=\($0.value)" }.joined().lowercased()
                            forms.insert(ex)
                            via[ex] = attribute.description.type
                        }
                    }
                }
            }
            return (entry.dn, forms, via)
        }
        return addresses.map { address in
            let matches = held.filter { $0.forms.contains(address.canonical) }
            switch matches.count {
            case 0: return .notFound
            case 1:
                let dn = matches[0].dn
                return inScope(dn) ? .resolved(dn, via: matches[0].via[address.canonical] ?? "directory") : .outOfScope(dn)
            default: return .ambiguous(matches.map(\.dn))
            }
        }
    }
}
