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

    /// The planner judges content before any DN is ours, placement after: each aspect alone leaves
    /// the other out, except a record's naming attributes, which placement checks again.
    @Test func oneAspectAloneLeavesTheOtherOut() throws {
        let changes = try records(
            """
            dn: cn=x,ou=site-b,dc=example,dc=com
            changetype: add
            objectClass: person
            cn: x
            sn: X
            userPassword: secret

            dn: cn=theirs,ou=site-a,dc=example,dc=com
            changetype: delete

            dn: cn=a,ou=site-a,dc=example,dc=com
            changetype: delete

            dn: cn=b,ou=site-a,dc=example,dc=com
            changetype: delete

            dn: userPassword=named,ou=site-a,dc=example,dc=com
            changetype: add
            objectClass: person
            cn: named
            sn: N

            """)
        let kinds = { (aspects: SourcePolicy.Aspects) in Set(policy.check(changes, owners: owners, judging: aspects).map(\.kind)) }
        #expect(kinds(.content) == [.attribute])
        #expect(kinds(.placement) == [.outOfScope, .notOwned, .deleteThreshold, .attribute])
        #expect(policy.check(changes, owners: owners, judging: .placement).filter { $0.kind == .attribute }.map(\.record) == [5])
        #expect(kinds(.all) == kinds(.content).union(kinds(.placement)))
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

    /// A schema with a supertype (name), its subtype (cn), an alias and OIDs.
    static let schema = Subschema(
        attributeTypes: try! [
            "( 2.5.4.0 NAME 'objectClass' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 )",
            "( 2.5.4.41 NAME 'name' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
            "( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )",
            "( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )",
            "( 2.5.4.35 NAME 'userPassword' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )",
            "( 1.3.6.1.1.1.1.0 NAME 'uidNumber' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )",
        ].map(AttributeTypeDefinition.init(parsing:)),
        objectClasses: try! [
            "( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )", "( 2.5.6.1 NAME 'alias' SUP top STRUCTURAL MUST aliasedObjectName )",
            "( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) )", "( 9.9.9 NAME 'trickyAlias' SUP alias STRUCTURAL )",
        ].map(ObjectClassDefinition.init(parsing:)))

    @Test func aRuleOnATypeHoldsForItsAliasesOIDsAndSubtypes() throws {
        var strict = policy
        strict.deniedAttributes = ["name"]
        for spelling in ["cn", "commonName", "2.5.4.3", "CN;lang-en", "sn"] {
            let change = try records("dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: \(spelling)\n\(spelling): x\n-\n")
            let found = strict.check(change, owners: owners, schema: Self.schema)
            #expect(found.map(\.kind) == [.attribute] && found[0].reason.contains("as a kind of name"), "\(spelling): \(found)")
        }
        let password = try records("dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: 2.5.4.35\n2.5.4.35: x\n-\n")
        #expect(policy.check(password, owners: owners, schema: Self.schema).map(\.kind) == [.attribute], "userPassword by its OID")
    }

    @Test func objectClassesAndRootIDs() throws {
        let subclass = try records("dn: cn=door,ou=site-a,dc=example,dc=com\nchangetype: add\nobjectClass: trickyAlias\ncn: door\n")
        let found = policy.check(subclass, owners: owners, schema: Self.schema)
        #expect(found.map(\.kind) == [.objectClass] && found[0].reason.contains("names alias"), "a subclass of alias is an alias: \(found)")
        var allowing = policy
        allowing.allowedObjectClasses = ["alias", "top"]
        #expect(allowing.check(subclass, owners: owners, schema: Self.schema).isEmpty, "allowed when the allow list names it")
        for zero in ["0", "00", " 0 ", "-0", "+000"] {
            let root = try records("dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: uidNumber\nuidNumber: \(zero)\n-\n")
            #expect(policy.check(root, owners: owners, schema: Self.schema).map(\.kind) == [.value], "'\(zero)'")
        }
        let fine = try records("dn: cn=mine,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: uidNumber\nuidNumber: 1000\n-\n")
        #expect(policy.check(fine, owners: owners, schema: Self.schema).isEmpty)
    }
}
