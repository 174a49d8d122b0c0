/// The replication workload the crash series and scripts/bench-sync share: `changes` changes of site A
/// (60 % adds of people, 30 % modifies — a new description or one more telephone number — and by
/// default 10 % deletes, each message's deletes last in it) in messages of `perMessage` records, in
/// site A's namespace (ou=SiteA,o=Org), and the same changes in ours (ou=site-a,dc=example,dc=com),
/// as ldapmodify applies them, for the oracle.
public struct ReplicationWorkload: Sendable {
    /// The LDIF body of each message, in order.
    public var messages: [String] = []
    /// The oracle: the same changes as ldapmodify input, in the receiver's namespace.
    public var oracle = "version: 1\n\n"
    public var changes = 0

    public init(changes total: Int, perMessage: Int = 500, deleteShare: Double = 0.1, seed: UInt64 = 20_000) {
        var random = SeededGenerator(seed: seed)
        func source(_ cn: String) -> String { "cn=\(cn),ou=people,ou=SiteA,o=Org" }
        func target(_ cn: String) -> String { "cn=\(cn),ou=people,ou=site-a,dc=example,dc=com" }
        oracle += """
            dn: ou=site-a,dc=example,dc=com
            changetype: add
            objectClass: organizationalUnit
            objectClass: bridgeheadReplicated
            ou: site-a
            bridgeheadOwner: site-a

            dn: ou=people,ou=site-a,dc=example,dc=com
            changetype: add
            objectClass: organizationalUnit
            objectClass: bridgeheadReplicated
            ou: people
            bridgeheadOwner: site-a


            """
        var alive: [String] = []
        var serial = 0
        var done = 2
        while done < total {
            var records: [String] = []
            var deletes: [String] = []
            var oracleRecords: [String] = []
            var oracleDeletes: [String] = []
            if messages.isEmpty {
                records.append("dn: ou=SiteA,o=Org\nchangetype: add\nobjectClass: organizationalUnit\nou: SiteA\n")
                records.append("dn: ou=people,ou=SiteA,o=Org\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n")
            }
            let count = min(perMessage, total - done) - (messages.isEmpty ? 2 : 0)
            var deletedHere: Set<String> = []
            for _ in 0..<count {
                serial += 1
                let roll = Double.random(in: 0..<1, using: &random)
                let live = alive.filter { !deletedHere.contains($0) }
                if roll < 0.6 || live.count < 50 {
                    let cn = "person\(serial)"
                    alive.append(cn)
                    let body =
                        "cn: \(cn)\nsn: Surname\(serial)\ngivenName: Given\(serial)\nmail: \(cn)@site-a.example.com\n"
                        + "description: added in message \(messages.count + 1)\n"
                    records.append("dn: \(source(cn))\nchangetype: add\nobjectClass: inetOrgPerson\n" + body)
                    oracleRecords.append(
                        "dn: \(target(cn))\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: bridgeheadReplicated\n" + body
                            + "bridgeheadOwner: site-a\n")
                } else if roll < 1 - deleteShare {
                    let cn = live.randomElement(using: &random)!
                    let modification =
                        Bool.random(using: &random)
                        ? "replace: description\ndescription: changed \(serial)\n-\n"
                        : "add: telephoneNumber\ntelephoneNumber: +1 555 \(String(10_000_000 + serial).dropFirst())\n-\n"
                    records.append("dn: \(source(cn))\nchangetype: modify\n" + modification)
                    oracleRecords.append("dn: \(target(cn))\nchangetype: modify\n" + modification)
                } else {
                    let cn = live.randomElement(using: &random)!
                    deletedHere.insert(cn)
                    deletes.append("dn: \(source(cn))\nchangetype: delete\n")
                    oracleDeletes.append("dn: \(target(cn))\nchangetype: delete\n")
                }
            }
            // A change to an entry deleted later in the same message stays: applied, then deleted.
            alive.removeAll { deletedHere.contains($0) }
            done += count
            messages.append("version: 1\n\n" + (records + deletes).joined(separator: "\n"))
            oracle += (oracleRecords + oracleDeletes).joined(separator: "\n") + "\n"
        }
        changes = done
    }
}
