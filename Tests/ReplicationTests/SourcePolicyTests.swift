import LDAPModel
import LDIF
import Replication
import Testing

struct SourcePolicyTests {
    let policy = SourcePolicy(
        source: "site-a", subtrees: [DN("ou=site-a,dc=example,dc=com")!], deniedAttributes: ["userPassword"], maxDeletes: 2)

    private func records(_ ldif: String) throws -> [ChangeRecord] {
        try LDIFReader.records(in: Array(ldif.utf8)).compactMap {
            if case .change(let record) = $0 { return record }
            return nil
        }
    }

    private let owners: [String: String?] = [
        DN("cn=mine,ou=site-a,dc=example,dc=com")!.normalized: "site-a",
        DN("cn=theirs,ou=site-a,dc=example,dc=com")!.normalized: "site-b",
        DN("cn=local,ou=site-a,dc=example,dc=com")!.normalized: String?.none,
    ]

    @Test func ownEntriesInOwnSubtreePass() throws {
        let changes = try records(
            """
            dn: cn=new,ou=site-a,dc=example,dc=com
            changetype: add
            objectClass: person
            cn: new
            sn: N

            dn: cn=mine,ou=site-a,dc=example,dc=com
            changetype: modify
            replace: sn
            sn: M
            -

            dn: cn=mine,ou=site-a,dc=example,dc=com
            changetype: modrdn
            newrdn: cn=still mine
            deleteoldrdn: 1

            """)
        #expect(policy.check(changes, owners: owners).isEmpty)
    }

    @Test(arguments: [
        ("dn: cn=x,ou=site-b,dc=example,dc=com\nchangetype: delete\n", SourcePolicy.Violation.Kind.outOfScope),
        (
            "dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: moddn\nnewrdn: cn=mine\ndeleteoldrdn: 0\nnewsuperior: ou=site-b,dc=example,dc=com\n",
            .outOfScope
        ),
        ("dn: cn=theirs,ou=site-a,dc=example,dc=com\nchangetype: delete\n", .notOwned),
        ("dn: cn=local,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: sn\nsn: x\n-\n", .notOwned),
        ("dn: cn=theirs,ou=site-a,dc=example,dc=com\nchangetype: add\nobjectClass: person\ncn: theirs\nsn: x\n", .notOwned),
        ("dn: cn=local,ou=site-a,dc=example,dc=com\nchangetype: add\nobjectClass: person\ncn: local\nsn: x\n", .notOwned),
        ("dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: userPassword\nuserPassword: x\n-\n", .attribute),
        ("dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: bridgeheadOwner\nbridgeheadOwner: site-a\n-\n", .attribute),
        (
            "dn: cn=a,ou=site-a,dc=example,dc=com\nchangetype: delete\n\ndn: cn=b,ou=site-a,dc=example,dc=com\nchangetype: delete\n\ndn: cn=c,ou=site-a,dc=example,dc=com\nchangetype: delete\n",
            .deleteThreshold
        ),
    ])
    func violations(_ ldif: String, _ kind: SourcePolicy.Violation.Kind) throws {
        let found = policy.check(try records(ldif), owners: owners)
        #expect(found.map(\.kind).contains(kind), "\(found)")
    }

    @Test func addingAnEntryTheSourceAlreadyOwnsIsAReplayNotAViolation() throws {
        // A run that stopped after the add and before its state update sends it again: the planner
        // makes it a modify (or nothing), so the policy lets it through.
        let replay = try records("dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: add\nobjectClass: person\ncn: mine\nsn: x\n")
        #expect(policy.check(replay, owners: owners).isEmpty)
    }

    @Test func allowListAndOperationalAttributes() throws {
        var restricted = policy
        restricted.allowedAttributes = ["mail", "telephonenumber"]
        let change = try records(
            "dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: mail\nmail: a@b\n-\nreplace: title\ntitle: x\n-\n")
        let found = restricted.check(change, owners: owners)
        #expect(found.count == 1 && found[0].reason.contains("title"))
        let schema = Subschema(attributeTypes: [
            try AttributeTypeDefinition(
                parsing: "( 2.5.18.1 NAME 'createTimestamp' SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 NO-USER-MODIFICATION USAGE directoryOperation )")
        ])
        let operational = try records(
            "dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: createTimestamp\ncreateTimestamp: 20260101000000Z\n-\n")
        #expect(policy.check(operational, owners: owners, schema: schema).map(\.kind) == [.attribute])
    }
}
