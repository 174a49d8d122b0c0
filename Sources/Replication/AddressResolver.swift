import Addressing
import Config
import LDAPClient
import LDAPModel

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
/// equality filters on the configured attributes (values escaped per RFC 4515).
///
/// During a run, resolution sees what the run's earlier messages did (`RunOverlay`): an entry they
/// created, renamed, re-addressed or deleted is judged by what they left, not by the directory as
/// the run found it, so that a dry run — which writes nothing — resolves exactly as the real run does.
/// What the searches find is kept for the life of the resolver (one run).
public actor AddressResolver {
    public let directory: any DirectoryReading
    public let base: DN
    public let attributes: [String]
    public let naming: [NamingRule]
    /// Subtrees a result must lie in; empty: anywhere under `base`.
    public let scope: [DN]
    /// Searches sent so far (the tests count them).
    public private(set) var searches = 0
    /// What the searches found: for each address (by canonical form), the entries holding it.
    private var found: [String: [Holder]] = [:]
    /// The overlay generation `found` was read under; a forgotten overlay forgets it too.
    private var generation = 0
    /// Terms per search, so a filter stays a sensible size.
    static let batchSize = 200

    /// An entry holding an address, and the attribute that holds it.
    struct Holder: Sendable {
        var dn: DN
        var via: String
    }

    public init(
        directory: any DirectoryReading, base: DN, attributes: [String] = ["mail", "proxyAddresses", "legacyExchangeDN"],
        naming: [NamingRule] = [], scope: [DN] = []
    ) {
        self.directory = directory
        self.base = base
        self.attributes = attributes
        self.naming = naming
        self.scope = scope
    }

    public func resolve(_ input: String, overlay: RunOverlay? = nil) async throws(LDAPError) -> Resolution {
        try await resolve([input], overlay: overlay)[0]
    }

    /// Resolves many at once: everything the naming rules do not settle goes into as few searches as
    /// possible. With an overlay, the run's planned effects take precedence over what the directory holds.
    public func resolve(_ inputs: [String], overlay: RunOverlay? = nil) async throws(LDAPError) -> [Resolution] {
        if let overlay, overlay.generation != generation {
            found = [:]
            generation = overlay.generation
        }
        var results = [Resolution?](repeating: nil, count: inputs.count)
        var pending: [(index: Int, address: Address)] = []
        var ruled: [(index: Int, target: DN, via: String, address: Address?)] = []
        for (index, input) in inputs.enumerated() {
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
                ruled.append((index, target, "naming rule \(rule.from) → \(rule.to)", address))
                continue
            }
            guard let address else {
                results[index] = .notFound
                continue
            }
            pending.append((index, address))
        }
        // An address a naming rule maps to an entry that is not there (renamed since, say) is looked up
        // like any other address; a source DN stands by its rule (the planner checks that it exists).
        let missing = try await existence(ruled.filter { $0.address != nil }.map(\.target), overlay)
        for item in ruled {
            if let address = item.address, missing.contains(item.target.normalized) {
                pending.append((item.index, address))
            } else {
                results[item.index] = inScope(item.target) ? .resolved(item.target, via: item.via) : .outOfScope(item.target)
            }
        }
        let unknown = Array(Set(pending.map(\.address.canonical)).subtracting(found.keys))
        var byCanonical: [String: Address] = [:]
        for item in pending { byCanonical[item.address.canonical] = item.address }
        var start = 0
        while start < unknown.count {
            let chunk = unknown[start..<min(start + Self.batchSize, unknown.count)].compactMap { byCanonical[$0] }
            try await lookup(chunk)
            start += Self.batchSize
        }
        for item in pending {
            results[item.index] = decide(item.address, overlay)
        }
        return results.map { $0 ?? .notFound }
    }

    /// The targets (normalised) that do not exist, in the run's view when there is one.
    private func existence(_ targets: [DN], _ overlay: RunOverlay?) async throws(LDAPError) -> Set<String> {
        guard !targets.isEmpty else { return [] }
        if let overlay {
            let known = try await overlay.view.load(targets)
            return Set(targets.map(\.normalized).filter { (known[$0] ?? nil) == nil })
        }
        let read = try await directory.entries(at: targets, attributes: ["1.1"])
        return Set(zip(targets, read).filter { $0.1 == nil }.map { $0.0.normalized })
    }

    /// One entry holding `address`, judged by the overlay where the run changed an entry.
    private func decide(_ address: Address, _ overlay: RunOverlay?) -> Resolution {
        var holders = (found[address.canonical] ?? []).filter { overlay?.changed($0.dn) != true }
        for holder in overlay?.holders(of: address.canonical) ?? [] where !holders.contains(where: { $0.dn.matches(holder.dn) }) {
            holders.append(Holder(dn: holder.dn, via: holder.via))
        }
        switch holders.count {
        case 0: return .notFound
        case 1: return inScope(holders[0].dn) ? .resolved(holders[0].dn, via: holders[0].via) : .outOfScope(holders[0].dn)
        default: return .ambiguous(holders.map(\.dn).sorted { $0.normalized < $1.normalized })
        }
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
    private func lookup(_ addresses: [Address]) async throws(LDAPError) {
        let wanted = Set(addresses.map(\.canonical))
        for canonical in wanted { found[canonical] = [] }
        let filters = addresses.flatMap(terms)
        guard !filters.isEmpty else { return }
        searches += 1
        let entries = try await directory.entries(under: base, matching: filters.count == 1 ? filters[0] : .or(filters), attributes: attributes)
        for entry in entries {
            for (canonical, via) in Self.forms(of: entry, attributes: attributes) where wanted.contains(canonical) {
                found[canonical, default: []].append(Holder(dn: entry.dn, via: via))
            }
        }
    }

    /// Every address form `entry` holds in the resolution attributes, canonically, with the attribute
    /// that holds it.
    static func forms(of entry: Entry, attributes: [String]) -> [String: String] {
        let wanted = Set(attributes.map { $0.lowercased() })
        var forms: [String: String] = [:]
        for attribute in entry.attributes where wanted.contains(attribute.description.type.lowercased()) {
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
                    forms[address.canonical] = attribute.description.type
                    // An X500 proxy names the same mailbox as its EX form.
                    if case .x500(let rdns) = address.form {
                        forms["EX:" + rdns.map { "/\($0.type)=\($0.value)" }.joined().lowercased()] = attribute.description.type
                    }
                }
            }
        }
        return forms
    }
}
