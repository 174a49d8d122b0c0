import LDAPClient
import LDAPModel
import LDIF
import Replication

/// A directory held in memory, for the planner's unit tests: what `DirectoryReading` asks of slapd,
/// answered from a dictionary. Searches understand what planning sends (`&`, `|`, `!`, equality and
/// presence filters, subtree scope); values compare as slapd's case-ignoring rules do for the
/// attributes searched (mail, proxyAddresses, legacyExchangeDN, bridgeheadOwner): case and runs of
/// spaces aside. The end-to-end tests check the same plans against a real slapd.
actor MemoryDirectory: DirectoryReading {
    private var entries: [String: Entry] = [:]
    /// What was asked, so that tests can see the view reads each entry once.
    private(set) var reads: [DN] = []
    private(set) var searches = 0

    init(_ entries: [Entry] = []) {
        for entry in entries { self.entries[entry.dn.normalized] = entry }
    }

    /// A directory holding the content records of `ldif`.
    init(ldif: String) throws {
        let records = try LDIFReader.records(in: Array(ldif.utf8))
        self.init(records.compactMap { if case .content(let entry) = $0 { entry } else { nil } })
    }

    func put(_ entry: Entry) { entries[entry.dn.normalized] = entry }

    func remove(_ dn: DN) { entries[dn.normalized] = nil }

    func all() -> [Entry] { Array(entries.values) }

    func entry(_ dn: String) -> Entry? { DN(dn).flatMap { entries[$0.normalized] } }

    func entries(at dns: [DN], attributes: [String]) async throws(LDAPError) -> [Entry?] {
        reads += dns
        return dns.map { dn in entries[dn.normalized].map { Self.selecting(attributes, of: $0) } }
    }

    func entries(under base: DN, matching filter: Filter, attributes: [String]) async throws(LDAPError) -> [Entry] {
        searches += 1
        guard entries[base.normalized] != nil || base.isRoot else {
            throw LDAPError(code: .noSuchObject, diagnosticMessage: "no such base", operation: "search")
        }
        return entries.values.filter { $0.dn.isWithin(base) && Self.matches(filter, $0) }
            .sorted { $0.dn.normalized < $1.dn.normalized }
            .map { Self.selecting(attributes, of: $0) }
    }

    private static func selecting(_ attributes: [String], of entry: Entry) -> Entry {
        if attributes == ["1.1"] { return Entry(dn: entry.dn, attributes: []) }
        if attributes.isEmpty || attributes.contains("*") { return entry }
        let wanted = Set(attributes.map { $0.lowercased() })
        return Entry(dn: entry.dn, attributes: entry.attributes.filter { wanted.contains($0.description.type.lowercased()) })
    }

    private static func matches(_ filter: Filter, _ entry: Entry) -> Bool {
        switch filter {
        case .and(let filters): return filters.allSatisfy { matches($0, entry) }
        case .or(let filters): return filters.contains { matches($0, entry) }
        case .not(let inner): return !matches(inner, entry)
        case .present(let attribute):
            return attribute.type.lowercased() == "objectclass" || !entry.values(attribute).isEmpty
        case .equality(let attribute, let value):
            return entry.values(attribute).contains { folded($0) == folded(value) }
        default: return false  // planning sends no other kind
        }
    }

    private static func folded(_ value: [UInt8]) -> String {
        String(decoding: value, as: UTF8.self).lowercased().split(separator: " ").joined(separator: " ")
    }
}
