import LDAPClient
import LDAPModel

/// A change record and the log entry it came from.
public struct CapturedRecord: Sendable, Hashable {
    public var record: ChangeRecord
    public var csn: String
}

/// Reads what changed from slapo-accesslog (`[publish] accesslog_base`) and what a full message holds
/// from the published subtrees.
public struct ChangeCapture: Sendable {
    public let connection: LDAPConnection
    public let logBase: DN
    public let scope: CaptureScope
    /// The page size of every search: slapd's default size limit for a user who is not the rootdn is 500.
    public static let pageSize: Int32 = 500

    public init(connection: LDAPConnection, logBase: DN, scope: CaptureScope) {
        self.connection = connection
        self.logBase = logBase
        self.scope = scope
    }

    /// The log's bounds: the oldest CSN it still holds (`minCSN`, raised when it is purged) and the
    /// newest (`contextCSN`); nil when it names none.
    public func bounds() async throws(LDAPError) -> (oldest: String?, newest: String?) {
        guard let entry = try await connection.read(logBase, attributes: ["minCSN", "contextCSN"]) else {
            throw LDAPError(
                code: .noSuchObject, diagnosticMessage: "\(logBase) does not exist: is slapo-accesslog configured with logdb \(logBase)?",
                operation: "read the accesslog")
        }
        return (entry.strings("minCSN").min(), entry.strings("contextCSN").max())
    }

    /// Whether the log has lost entries after `position` (purged past it): then only a full message
    /// can bring the peers up to date.
    public func isPurged(after position: String) async throws(LDAPError) -> Bool {
        guard position != "0", let oldest = try await bounds().oldest else { return false }
        return oldest > position
    }

    /// The successful writes after `position` ("0": all of them), in commit (entryCSN) order, as change
    /// records of the published subtrees; and the CSN of the last log entry read (nil: none).
    public func changes(after position: String) async throws(PublishError) -> (records: [CapturedRecord], last: String?) {
        var terms: [Filter] = [.equality("objectClass", "auditWriteObject"), .equality("reqResult", "0")]
        if position != "0" { terms.append(.greaterOrEqual("entryCSN", Array(position.utf8))) }
        let filter: Filter = .and(terms)
        let entries: [Entry]
        do {
            entries = try await connection.search(
                SearchRequest(base: logBase, scope: .oneLevel, filter: filter, attributes: AccessLogEntry.attributes, pageSize: Self.pageSize))
        } catch {
            throw .ldap(error)
        }
        var log: [AccessLogEntry] = []
        for entry in entries {
            do {
                if let parsed = try AccessLogEntry(entry), parsed.csn > position || position == "0" { log.append(parsed) }
            } catch {
                throw .log(error)
            }
        }
        log.sort { $0.csn < $1.csn }
        var records: [CapturedRecord] = []
        // Entries that moved into the subtrees and were deleted later in this log: the receiver never
        // gets them, nor anything done to them in between (tracked through renames).
        var phantoms: [DN] = []
        for (index, item) in log.enumerated() {
            if let phantom = phantoms.firstIndex(where: { item.dn.isWithin($0) }) {
                if item.dn.matches(phantoms[phantom]) {
                    switch item.operation {
                    case .delete: phantoms.remove(at: phantom)
                    case .modifyDN(let rdn, _, let superior): phantoms[phantom] = (superior ?? item.dn.parent ?? .root).child(rdn)
                    default: break
                    }
                } else if case .modifyDN = item.operation {
                    continue  // a rename inside a phantom subtree: its root keeps its DN
                }
                continue
            }
            if case .modifyDN(let rdn, _, let superior) = item.operation {
                let renamed = (superior ?? item.dn.parent ?? .root).child(rdn)
                phantoms = phantoms.map { $0.replacingSuffix(item.dn, with: renamed) ?? $0 }
            }
            for step in scope.steps(for: item) {
                switch step {
                case .record(let record):
                    records.append(CapturedRecord(record: record, csn: item.csn))
                case .copyIn(let dn):
                    // What moved in is read now, where later renames in this log have taken it, and
                    // sent under the name it had when it moved in (with that RDN's values, so that the
                    // add is valid); the later records then apply to it as they did at the source.
                    guard let now = Self.followed(dn, after: index, in: log) else {
                        phantoms.append(dn)
                        continue
                    }
                    for entry in try await subtree(now) {
                        guard let then = entry.dn.replacingSuffix(now, with: dn),
                            let published = scope.published(Self.named(Entry(dn: then, attributes: entry.attributes)))
                        else { continue }
                        records.append(CapturedRecord(record: .add(published), csn: item.csn))
                    }
                case .removeOut(let from, let to):
                    // The receiver deletes what moved out, deepest first, as it was named inside. It
                    // is found where later renames took it; when it was deleted since, only its top
                    // entry can be named.
                    var moved: [DN] = []
                    if let now = Self.followed(to, after: index, in: log) {
                        moved = try await subtree(now).compactMap { $0.dn.replacingSuffix(now, with: from) }
                    }
                    let gone = moved.isEmpty ? [from] : moved.reversed()
                    records += gone.map { CapturedRecord(record: ChangeRecord(dn: $0, change: .delete), csn: item.csn) }
                }
            }
        }
        return (records, log.last?.csn)
    }

    /// Where the entry named `dn` just after log entry `index` is at the end of `log`: renames and
    /// moves of it or of an ancestor followed; nil when it was deleted.
    static func followed(_ dn: DN, after index: Int, in log: [AccessLogEntry]) -> DN? {
        var current = dn
        for item in log[(index + 1)...] {
            switch item.operation {
            case .modifyDN(let rdn, _, let superior) where current.isWithin(item.dn):
                current = current.replacingSuffix(item.dn, with: (superior ?? item.dn.parent ?? .root).child(rdn)) ?? current
            case .delete where current.matches(item.dn):
                return nil
            default:
                continue
            }
        }
        return current
    }

    /// `entry` with the values of its RDN present (an entry read after a rename carries the new
    /// RDN's values; sent under its earlier name, it needs that name's).
    static func named(_ entry: Entry) -> Entry {
        var result = entry
        for ava in entry.dn.rdn?.attributes ?? [] {
            let key = ava.type.lowercased()
            if let index = result.attributes.firstIndex(where: { $0.description.type.lowercased() == key && $0.description.options.isEmpty }) {
                // (Compared case-insensitively: naming attributes match so, and slapd refuses a value twice.)
                let folded = String(decoding: ava.value, as: UTF8.self).lowercased()
                if !result.attributes[index].values.contains(where: { String(decoding: $0, as: UTF8.self).lowercased() == folded }) {
                    result.attributes[index].values.append(ava.value)
                }
            } else {
                result.attributes.append(Attribute(AttributeDescription(type: ava.type), values: [ava.value]))
            }
        }
        return result
    }

    /// Every published entry, parents before children, handed to `body` one at a time as the pages
    /// of a search arrive: what is held is a page, a 64-bit hash of each DN seen (to know whether an
    /// entry's parent came already), and any entry that came before its parent (slapd returns
    /// entries in the order they were created, so one moved under a newer parent comes first) until
    /// its parent comes.
    public func forEachPublishedEntry(_ body: (Entry) throws(PublishError) -> Void) async throws(PublishError) {
        for base in scope.subtrees {
            var seen = Set<Int>()
            var waiting: [Int: [Entry]] = [:]
            func emit(_ entry: Entry) throws(PublishError) {
                var stack = [entry]
                while let next = stack.popLast() {
                    let key = next.dn.normalized.hashValue
                    seen.insert(key)
                    if let published = scope.published(next) { try body(published) }
                    if let children = waiting.removeValue(forKey: key) { stack += children.reversed() }
                }
            }
            do {
                try await connection.search(SearchRequest(base: base, scope: .subtree, pageSize: Self.pageSize)) { page in
                    for entry in page {
                        if entry.dn.matches(base) {
                            try emit(entry)
                        } else if let parent = entry.dn.parent?.normalized.hashValue, !seen.contains(parent) {
                            waiting[parent, default: []].append(entry)
                        } else {
                            try emit(entry)
                        }
                    }
                }
            } catch let error as LDAPError where error.code == .noSuchObject {
                continue
            } catch let error as LDAPError {
                throw .ldap(error)
            } catch let error as PublishError {
                throw error
            } catch {
                throw .inconsistent("\(error)")
            }
            // Entries whose parent never came (it cannot be, in a subtree search): shallowest first.
            for entry in waiting.values.joined().sorted(by: { $0.dn.rdns.count < $1.dn.rdns.count }) {
                if let published = scope.published(entry) { try body(published) }
            }
        }
    }

    /// The entries at and under `dn` as they are now, parents first (empty when it is gone).
    func subtree(_ dn: DN) async throws(PublishError) -> [Entry] {
        do {
            let entries = try await connection.search(SearchRequest(base: dn, scope: .subtree, pageSize: Self.pageSize))
            return entries.sorted { $0.dn.rdns.count < $1.dn.rdns.count }
        } catch  where error.code == .noSuchObject {
            return []
        } catch {
            throw .ldap(error)
        }
    }
}

/// Why a publish run stopped.
public enum PublishError: Error, Sendable, CustomStringConvertible {
    case ldap(LDAPError)
    case log(AccessLogError)
    case configuration(String)
    /// The outbox or the state disagree in a way a person must look at.
    case inconsistent(String)

    public var description: String {
        switch self {
        case .ldap(let error): "\(error)"
        case .log(let error): "\(error)"
        case .configuration(let reason): reason
        case .inconsistent(let reason): reason
        }
    }
}
