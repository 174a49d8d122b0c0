import LDAPModel

/// What a connection knows about the attribute descriptions its server's databases store.
struct NoOpKnowledge: Sendable {
    var stored: [String: Bool] = [:]
    var namingContexts: [DN]?
}

extension LDAPConnection {
    /// Whether `record` may be sent with the No-Op control without harm.
    ///
    /// OpenLDAP's back-mdb numbers an attribute description the first time a database stores it. Under
    /// No-Op the number is given and the transaction thrown away, but the description keeps that number
    /// in slapd's memory, so the next description the database meets is given the same one: the values
    /// of the first are from then on read back under the second's name (a group's `member` values shown
    /// as `mail`), in the database itself — a request that was to change nothing corrupts the directory
    /// (seen on Debian 12's slapd 2.5.13; the code is the same upstream: back-mdb/add.c resets
    /// `mi_numads` after a No-Op but not the description's slot in `mi_adxs`). So a record goes with
    /// No-Op only when every attribute description it would store is already stored by some entry of
    /// its database: found by a presence search for exactly that description, remembered for the
    /// connection's life (`noteStored` records what the connection itself has written since).
    public func isSafeForNoOp(_ record: ChangeRecord) async throws(LDAPError) -> Bool {
        for description in Self.descriptions(storedBy: record) where try await !isStored(description, near: record.dn) {
            return false
        }
        return true
    }

    /// Records that the descriptions `records` store are now stored (they have been applied).
    public func noteStored(_ records: [ChangeRecord]) {
        let keys = records.flatMap { Self.descriptions(storedBy: $0) }.map { $0.description.lowercased() }
        noOpKnowledge.withLock { knowledge in
            for key in keys { knowledge.stored[key] = true }
        }
    }

    /// The attribute descriptions a record would have its database store (deletes store none; a
    /// modify's entry keeps the ones it already has).
    static func descriptions(storedBy record: ChangeRecord) -> [AttributeDescription] {
        switch record.change {
        case .add(let attributes): return attributes.map(\.description)
        case .modify(let modifications): return modifications.filter { $0.operation != .delete }.map(\.attribute)
        case .modifyDN(let rdn, _, _): return rdn.attributes.map { AttributeDescription(type: $0.type) }
        case .delete: return []
        }
    }

    private func isStored(_ description: AttributeDescription, near dn: DN) async throws(LDAPError) -> Bool {
        let key = description.description.lowercased()
        if let known = noOpKnowledge.withLock({ $0.stored[key] }) { return known }
        let base = try await database(of: dn)
        // An entry holding a subtype (description;lang-en) does not store `description` itself: only an
        // exact description counts.
        let found = try await search(
            SearchRequest(base: base, scope: .subtree, filter: .present(description), attributes: [description.description]), atMost: 50)
        let stored = found.contains { entry in
            entry.attributes.contains { $0.description.description.lowercased() == key }
        }
        noOpKnowledge.withLock { $0.stored[key] = stored }
        return stored
    }

    /// The naming context holding `dn` (the deepest one), or the DN's last RDN when the server names none.
    private func database(of dn: DN) async throws(LDAPError) -> DN {
        var contexts = noOpKnowledge.withLock { $0.namingContexts }
        if contexts == nil {
            let read = try await rootDSE().strings("namingContexts").compactMap(DN.init)
            noOpKnowledge.withLock { $0.namingContexts = read }
            contexts = read
        }
        if let context = (contexts ?? []).filter({ dn.isWithin($0) }).max(by: { $0.rdns.count < $1.rdns.count }) { return context }
        return DN(rdns: Array(dn.rdns.suffix(1)))
    }
}
