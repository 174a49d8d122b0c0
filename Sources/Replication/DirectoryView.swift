import Foundation
import LDAPClient
import LDAPModel

/// The entries a run has read or planned, so that each message is planned against the directory as
/// the messages before it left it (also in a dry run, where nothing before it was written).
public final class DirectoryView: @unchecked Sendable {
    /// Where entries not yet known are read from.
    let directory: any DirectoryReading
    /// The attributes addresses are resolved through (`[resolve] attributes`).
    let addressAttributes: [String]
    /// All guarded by `lock`:
    /// by normalised DN, the entry, or nil when it does not exist (read, or left so by the run);
    private var entries: [String: Entry?] = [:]
    /// the DNs the run's planned messages changed (created, modified, renamed away or to, deleted);
    private var planned: Set<String> = []
    /// for each address (canonical form), the planned entries holding it, by normalised DN;
    private var holders: [String: [String: AddressResolver.Holder]] = [:]
    /// the addresses each planned entry holds;
    private var addresses: [String: [String]] = [:]
    /// how many times the view was forgotten (resolvers drop what they found under an older one).
    private var generation = 0
    private let lock = NSLock()

    public init(directory: any DirectoryReading, addressAttributes: [String] = ["mail", "proxyAddresses", "legacyExchangeDN"]) {
        self.directory = directory
        self.addressAttributes = addressAttributes
    }

    /// The entries at `dns` (by normalised DN), read from the directory where not yet known.
    func load(_ dns: [DN]) async throws(LDAPError) -> [String: Entry?] {
        var result: [String: Entry?] = [:]
        var missing: [DN] = []
        lock.withLock {
            for dn in dns {
                let key = dn.normalized
                guard result[key] == nil else { continue }
                if let known = entries[key] {
                    result[key] = .some(known)
                } else {
                    missing.append(dn)
                    result[key] = .some(nil)  // placeholder, replaced below
                }
            }
        }
        if !missing.isEmpty {
            let read = try await directory.entries(at: missing, attributes: ["*"])
            lock.withLock {
                for (dn, entry) in zip(missing, read) {
                    // A planned message may have settled it meanwhile: what it left wins.
                    if planned.contains(dn.normalized), let known = entries[dn.normalized] {
                        result[dn.normalized] = .some(known)
                        continue
                    }
                    entries[dn.normalized] = .some(entry)
                    result[dn.normalized] = .some(entry)
                }
            }
        }
        return result
    }

    /// Records what a planned message leaves behind: the messages planned after it see the directory
    /// as it left it (in a dry run too, where nothing was written).
    public func commit(_ plan: MessagePlan) {
        // A plan too large to hold kept no effects; only a real run spills one, and it was applied:
        // what the view knows is read again from the directory.
        if plan.changes.isSpilled { return forget() }
        lock.withLock {
            for (key, value) in plan.effects {
                entries[key] = .some(value)
                planned.insert(key)
                for canonical in addresses.removeValue(forKey: key) ?? [] { holders[canonical]?[key] = nil }
                guard let entry = value else { continue }
                let forms = AddressResolver.forms(of: entry, attributes: addressAttributes)
                addresses[key] = Array(forms.keys)
                for (canonical, via) in forms { holders[canonical, default: [:]][key] = AddressResolver.Holder(dn: entry.dn, via: via) }
            }
        }
    }

    /// Forgets what the run knows (after a failed apply the directory is read again).
    func forget() {
        lock.withLock {
            entries = [:]
            planned = []
            holders = [:]
            addresses = [:]
            generation += 1
        }
    }

    /// Everything the view knows: entries read, and what earlier messages of this run left.
    func knownEntries() -> [String: Entry?] { lock.withLock { entries } }

    /// What the run's planned messages did, for address resolution.
    public var overlay: RunOverlay { RunOverlay(view: self, generation: lock.withLock { generation }) }

    fileprivate func isPlanned(_ dn: DN) -> Bool { lock.withLock { planned.contains(dn.normalized) } }

    fileprivate func plannedHolders(of canonical: String) -> [AddressResolver.Holder] {
        lock.withLock { holders[canonical].map { Array($0.values) } ?? [] }.sorted { $0.dn.normalized < $1.dn.normalized }
    }
}

/// What the messages planned so far in a run did to the directory, as address resolution sees it:
/// which entries they changed, and which of those hold an address. The run's own effects take
/// precedence over what the directory holds, in a dry run (which wrote nothing) as in a real run.
public struct RunOverlay: Sendable {
    let view: DirectoryView
    /// The view's generation when this overlay was taken.
    let generation: Int

    /// Whether the run changed (or removed, or moved) the entry at `dn`: then its planned state decides.
    func changed(_ dn: DN) -> Bool { view.isPlanned(dn) }

    /// The entries the run left holding `canonical`.
    func holders(of canonical: String) -> [AddressResolver.Holder] { view.plannedHolders(of: canonical) }
}
