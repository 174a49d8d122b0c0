import Config
import Foundation
import LDAPClient
import LDAPModel
import LDIF
import MessageFormat
import Replication
import Testing

/// The planner alone, against an in-memory directory and slapd 2.5's own schema: no server. What it
/// plans here is what `sync` applies and `sync --dry-run` prints (the end-to-end tests run the same
/// rules against slapd).
struct PlannerTests {
    static let schema: Subschema = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/slapd-2.5-subschema.ldif")
        let records = try! LDIFReader.records(in: Array(try! Data(contentsOf: url)))
        guard case .content(let entry) = records[0] else { fatalError("the fixture holds the subschema entry") }
        return Subschema(entry: entry)
    }()

    static let base = "dc=example,dc=com"

    /// The directory as site B holds it: its own people, and site A's subtree with two of site A's
    /// entries and one a person put there by hand.
    static let seed = """
        dn: dc=example,dc=com
        objectClass: dcObject
        objectClass: organization
        dc: example
        o: Example

        dn: ou=people,dc=example,dc=com
        objectClass: organizationalUnit
        ou: people

        dn: cn=Dave Local,ou=people,dc=example,dc=com
        objectClass: inetOrgPerson
        cn: Dave Local
        sn: Local
        mail: dave@site-b.example.com

        dn: ou=site-a,dc=example,dc=com
        objectClass: organizationalUnit
        ou: site-a

        dn: cn=Alice,ou=site-a,dc=example,dc=com
        objectClass: inetOrgPerson
        objectClass: bridgeheadReplicated
        cn: Alice
        sn: Anders
        mail: alice@site-a.example.com
        telephoneNumber: +44 20 7946 0000
        legacyExchangeDN: /o=SiteA/ou=Admin/cn=Recipients/cn=alice
        bridgeheadOwner: site-a

        dn: cn=Bob,ou=site-a,dc=example,dc=com
        objectClass: inetOrgPerson
        objectClass: bridgeheadReplicated
        cn: Bob
        sn: Baker
        mail: bob@site-a.example.com
        bridgeheadOwner: site-a

        dn: cn=Hand Made,ou=site-a,dc=example,dc=com
        objectClass: inetOrgPerson
        cn: Hand Made
        sn: Made

        """

    struct Setup {
        var directory: MemoryDirectory
        var view: DirectoryView
        var planner: Planner
    }

    static func setup(
        seed: String = seed, naming: [NamingRule] = [], denied: Set<String> = ["userPassword"], maxDeletes: Int? = 500
    ) throws -> Setup {
        let directory = try MemoryDirectory(ldif: seed)
        let view = DirectoryView(directory: directory)
        let resolver = AddressResolver(directory: directory, base: DN(base)!, naming: naming)
        let policy = SourcePolicy(
            source: "site-a", subtrees: [DN("ou=site-a,\(base)")!], deniedAttributes: denied, maxDeletes: maxDeletes)
        let planner = Planner(source: "site-a", naming: naming, policy: policy, schema: schema, resolver: resolver, view: view)
        return Setup(directory: directory, view: view, planner: planner)
    }

    static func message(_ ldif: String, kind: ReplicationMessage.Kind = .delta, sequence: UInt64 = 1) throws -> ReplicationMessage {
        ReplicationMessage(source: "site-a", sequence: sequence, kind: kind, records: try LDIFReader.records(in: Array(ldif.utf8)))
    }

    /// The plan's records as LDIF, the way a dry run prints them.
    static func ldif(_ plan: MessagePlan) -> String {
        String(decoding: plan.changes.flatMap { LDIFWriter().render($0.record) }, as: UTF8.self)
    }

    static func refusal(_ setup: Setup, _ message: ReplicationMessage) async -> String? {
        do {
            _ = try await setup.planner.plan(message)
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: delta

    @Test func aNewEntryIsAddedOwnedAndMarked() async throws {
        let setup = try Self.setup()
        let plan = try await setup.planner.plan(
            Self.message(
                "dn: cn=Carol,ou=site-a,dc=example,dc=com\nobjectClass: inetOrgPerson\ncn: Carol\nsn: Cole\nmail: carol@site-a.example.com\n"))
        #expect(plan.changes.count == 1 && plan.unchanged == 0)
        guard case .add(let attributes) = plan.changes[0].record.change else { Issue.record("not an add: \(plan.changes)"); return }
        let entry = Entry(dn: plan.changes[0].record.dn, attributes: attributes)
        #expect(entry.strings("objectClass") == ["inetOrgPerson", "bridgeheadReplicated"])
        #expect(entry.strings("bridgeheadOwner") == ["site-a"])
        #expect(plan.changes[0].sourceRecord == 1)
        #expect(plan.changes[0].values.first { $0.attribute == "mail" }?.added == [Array("carol@site-a.example.com".utf8)])
    }

    @Test func anAddOfAnEntryItHasBecomesTheDifference() async throws {
        let setup = try Self.setup()
        // Bob again, with a new title and without mail: replace nothing that is equal, add the title, drop mail.
        let plan = try await setup.planner.plan(
            Self.message("dn: cn=Bob,ou=site-a,dc=example,dc=com\nobjectClass: inetOrgPerson\ncn: bob\nsn: BAKER\ntitle: Chef\n"))
        #expect(plan.changes.count == 1)
        guard case .modify(let modifications) = plan.changes[0].record.change else { Issue.record("\(plan.changes)"); return }
        #expect(modifications.map { "\($0.operation) \($0.attribute)" } == ["delete mail", "add title"], "cn and sn are equal as caseIgnoreMatch")
        // The same message again changes nothing.
        let again = try await setup.planner.plan(
            Self.message("dn: cn=Bob,ou=site-a,dc=example,dc=com\nobjectClass: inetOrgPerson\ncn: Bob\nsn: Baker\nmail: bob@site-a.example.com\n"))
        #expect(again.changes.isEmpty && again.unchanged == 1)
    }

    @Test func modificationsAreReducedToWhatChanges() async throws {
        let setup = try Self.setup()
        let plan = try await setup.planner.plan(
            Self.message(
                """
                dn: cn=Alice,ou=site-a,dc=example,dc=com
                changetype: modify
                add: mail
                mail: ALICE@site-a.example.com
                mail: alice2@site-a.example.com
                -
                delete: description
                description: never there
                -
                replace: telephoneNumber
                telephoneNumber: +44-20-7946-0000
                -
                replace: sn
                sn: anders
                -
                delete: legacyExchangeDN
                -

                """))
        #expect(plan.changes.count == 1)
        guard case .modify(let modifications) = plan.changes[0].record.change else { Issue.record("\(plan.changes)"); return }
        // mail: caseIgnoreIA5Match drops the first value; description was never there; the telephone
        // number is the same to telephoneNumberMatch; sn the same to caseIgnoreMatch.
        #expect(modifications.map { "\($0.operation) \($0.attribute)" } == ["add mail", "delete legacyExchangeDN"])
        #expect(modifications[0].values == [Array("alice2@site-a.example.com".utf8)])
    }

    @Test func octetStringsAndDNsCompareByTheirOwnRules() async throws {
        var seed = Self.seed
        seed += """

            dn: cn=Team,ou=site-a,dc=example,dc=com
            objectClass: groupOfNames
            objectClass: bridgeheadReplicated
            cn: Team
            member: cn=Alice,ou=site-a,dc=example,dc=com
            bridgeheadOwner: site-a

            """
        let own = DN("ou=site-a,\(Self.base)")!
        let setup = try Self.setup(seed: seed, naming: [NamingRule(from: own, to: own)])
        // The same member spelled another way is no change; another case of a password-like octet
        // string is one (octetStringMatch).
        let plan = try await setup.planner.plan(
            Self.message(
                """
                dn: cn=Team,ou=site-a,dc=example,dc=com
                changetype: modify
                add: member
                member: CN=alice, OU=Site-A, DC=Example, DC=Com
                -

                dn: cn=Alice,ou=site-a,dc=example,dc=com
                changetype: modify
                replace: carLicense
                carLicense: AB 12
                -

                dn: cn=Alice,ou=site-a,dc=example,dc=com
                changetype: modify
                replace: carLicense
                carLicense: ab  12
                -

                """))
        #expect(plan.unchanged == 2, "the member is there already; carLicense (caseIgnoreMatch) equal the second time")
        #expect(plan.changes.count == 1)
    }

    @Test func incrementIsPlannedAsTheValueItGivesAndNeverOverflows() async throws {
        var seed = Self.seed
        seed = seed.replacingOccurrences(of: "cn: Bob\n", with: "cn: Bob\nroomNumber: 9223372036854775806\n")
        let setup = try Self.setup(seed: seed)
        let counter = """
            dn: cn=Alice,ou=site-a,dc=example,dc=com
            changetype: modify
            add: uidNumber
            uidNumber: 1000
            -
            increment: uidNumber
            uidNumber: 5
            -

            """
        // uidNumber needs posixAccount on a server; the planner judges the arithmetic only.
        let plan = try await setup.planner.plan(Self.message(counter))
        guard case .modify(let modifications) = plan.changes.first?.record.change else { Issue.record("\(plan.changes)"); return }
        #expect(modifications.map(\.operation) == [.add, .replace])
        #expect(modifications[1].values == [Array("1005".utf8)])
        let overflow = await Self.refusal(
            setup, try Self.message("dn: cn=Bob,ou=site-a,dc=example,dc=com\nchangetype: modify\nincrement: roomNumber\nroomNumber: 2\n-\n"))
        #expect(overflow?.contains("largest integer") == true, "\(overflow ?? "accepted")")
    }

    // MARK: references

    @Test func referencesResolveOrAreRefused() async throws {
        let setup = try Self.setup(naming: [NamingRule(from: DN("ou=SiteA,o=Org")!, to: DN("ou=site-a,\(Self.base)")!)])
        let plan = try await setup.planner.plan(
            Self.message(
                """
                dn: cn=Carol,ou=SiteA,o=Org
                objectClass: inetOrgPerson
                cn: Carol
                sn: Cole

                dn: cn=Team,ou=SiteA,o=Org
                objectClass: groupOfNames
                cn: Team
                member: SMTP:alice@site-a.example.com
                member: EX:/o=SiteA/ou=Admin/cn=Recipients/cn=alice
                member: IMCEAEX-_o=SiteA_ou=Admin_cn=Recipients_cn=alice@site-a.example.com
                member: cn=Carol,ou=SiteA,o=Org
                member: SMTP:dave@site-b.example.com
                seeAlso: cn=Bob,ou=SiteA,o=Org

                """))
        #expect(plan.changes.map(\.record.dn.description) == ["cn=Carol,ou=site-a,dc=example,dc=com", "cn=Team,ou=site-a,dc=example,dc=com"])
        guard case .add(let attributes) = plan.changes[1].record.change else { Issue.record("\(plan.changes)"); return }
        let team = Entry(dn: plan.changes[1].record.dn, attributes: attributes)
        #expect(
            Set(team.strings("member")) == [
                "cn=Alice,ou=site-a,dc=example,dc=com", "cn=Carol,ou=site-a,dc=example,dc=com", "cn=Dave Local,ou=people,dc=example,dc=com",
            ], "three forms of Alice are one value; Carol is created by the message itself")
        #expect(team.strings("seeAlso") == ["cn=Bob,ou=site-a,dc=example,dc=com"])
        #expect(plan.changes[1].references.contains { $0.original.hasPrefix("IMCEAEX-") && $0.via == "legacyExchangeDN" })

        let dangling = await Self.refusal(
            setup, try Self.message("dn: cn=Bob,ou=SiteA,o=Org\nchangetype: modify\nadd: seeAlso\nseeAlso: cn=Nobody,ou=SiteA,o=Org\n-\n"))
        #expect(dangling?.contains("which does not exist here") == true, "\(dangling ?? "accepted")")
        let unknown = await Self.refusal(
            setup, try Self.message("dn: cn=Bob,ou=SiteA,o=Org\nchangetype: modify\nadd: seeAlso\nseeAlso: SMTP:nobody@nowhere.example\n-\n"))
        #expect(unknown?.contains("SMTP:nobody@nowhere.example") == true, "\(unknown ?? "accepted")")
        // Removing a value that names nothing removes nothing, and is no refusal.
        let lenient = try await setup.planner.plan(
            Self.message("dn: cn=Bob,ou=SiteA,o=Org\nchangetype: modify\ndelete: seeAlso\nseeAlso: SMTP:nobody@nowhere.example\n-\n"))
        #expect(lenient.changes.isEmpty)
    }

    @Test func laterMessagesSeeWhatEarlierOnesLeft() async throws {
        let setup = try Self.setup()
        // Message 1 (planned, not applied: a dry run) creates Carol and re-addresses Bob.
        let first = try await setup.planner.plan(
            Self.message(
                """
                dn: cn=Carol,ou=site-a,dc=example,dc=com
                changetype: add
                objectClass: inetOrgPerson
                cn: Carol
                sn: Cole
                mail: carol@site-a.example.com

                dn: cn=Bob,ou=site-a,dc=example,dc=com
                changetype: modify
                replace: mail
                mail: robert@site-a.example.com
                -

                dn: cn=Alice,ou=site-a,dc=example,dc=com
                changetype: modify
                replace: cn
                cn: Alice
                -

                dn: cn=Alice,ou=site-a,dc=example,dc=com
                changetype: delete

                """))
        setup.view.commit(first)
        #expect(await setup.directory.entry("cn=Carol,ou=site-a,dc=example,dc=com") == nil, "nothing was written")
        let second = try await setup.planner.plan(
            Self.message(
                "dn: cn=Team,ou=site-a,dc=example,dc=com\nobjectClass: groupOfNames\ncn: Team\nmember: SMTP:carol@site-a.example.com\nmember: SMTP:robert@site-a.example.com\n",
                sequence: 2))
        guard case .add(let attributes) = second.changes.first?.record.change else { Issue.record("\(second.changes)"); return }
        #expect(
            Set(Entry(dn: .root, attributes: attributes).strings("member")) == [
                "cn=Carol,ou=site-a,dc=example,dc=com", "cn=Bob,ou=site-a,dc=example,dc=com",
            ])
        setup.view.commit(second)
        let old = await Self.refusal(
            setup,
            try Self.message("dn: cn=Team,ou=site-a,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: SMTP:bob@site-a.example.com\n-\n"))
        #expect(old?.contains("SMTP:bob@site-a.example.com") == true, "Bob's old address is gone: \(old ?? "accepted")")
        let deleted = await Self.refusal(
            setup,
            try Self.message("dn: cn=Team,ou=site-a,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: SMTP:alice@site-a.example.com\n-\n"))
        #expect(deleted?.contains("SMTP:alice@site-a.example.com") == true, "Alice was deleted: \(deleted ?? "accepted")")
    }

    // MARK: replay

    @Test func aMessageAppliedBeforeIsRecognisedStepByStep() async throws {
        let message = try Self.message(
            """
            dn: cn=Carol,ou=site-a,dc=example,dc=com
            changetype: add
            objectClass: inetOrgPerson
            cn: Carol
            sn: Cole

            dn: cn=Carol,ou=site-a,dc=example,dc=com
            changetype: modrdn
            newrdn: cn=Caroline
            deleteoldrdn: 1

            dn: cn=Bob,ou=site-a,dc=example,dc=com
            changetype: modify
            replace: title
            title: Chef
            -

            dn: cn=Bob,ou=site-a,dc=example,dc=com
            changetype: delete

            """)
        let setup = try Self.setup()
        let plan = try await setup.planner.plan(message)
        #expect(plan.changes.count == 4)
        // The directory after an earlier run that applied it all, and one that stopped after the rename.
        var after = Self.seed.replacingOccurrences(of: "cn=Bob,", with: "cn=Gone,")
        after +=
            "\ndn: cn=Caroline,ou=site-a,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: bridgeheadReplicated\ncn: Caroline\nsn: Cole\nbridgeheadOwner: site-a\n"
        let replayed = try await Self.setup(seed: after).planner.plan(message)
        #expect(replayed.changes.isEmpty, Comment(rawValue: Self.ldif(replayed)))
        #expect(replayed.unchanged == 4)
        let halfway =
            Self.seed
            + "\ndn: cn=Caroline,ou=site-a,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: bridgeheadReplicated\ncn: Caroline\nsn: Cole\nbridgeheadOwner: site-a\n"
        let resumed = try await Self.setup(seed: halfway).planner.plan(message)
        #expect(resumed.unchanged == 2 && resumed.changes.map(\.sourceRecord) == [3, 4], Comment(rawValue: Self.ldif(resumed)))
    }

    // MARK: full

    @Test func aFullMessageMakesTheSubtreeWhatItLists() async throws {
        let setup = try Self.setup()
        let plan = try await setup.planner.plan(
            Self.message(
                """
                dn: cn=Alice,ou=site-a,dc=example,dc=com
                objectClass: inetOrgPerson
                cn: Alice
                sn: Anders
                mail: alice@site-a.example.com
                telephoneNumber: +44 20 7946 0000
                legacyExchangeDN: /o=SiteA/ou=Admin/cn=Recipients/cn=alice

                dn: cn=Carol,ou=site-a,dc=example,dc=com
                objectClass: inetOrgPerson
                cn: Carol
                sn: Cole

                """, kind: .full))
        // Alice unchanged, Carol added, Bob (site A's, not listed) deleted; the entry a person made stays.
        #expect(plan.unchanged == 1)
        #expect(plan.changes.map { "\($0.record.dn.rdn!.description) \(Self.kind($0.record))" } == ["cn=Carol add", "cn=Bob delete"])
        #expect(plan.deletes == 1)
        #expect(await setup.directory.searches == 2, "per subtree, one search for what the source owns, one for the names of what it no longer lists")
    }

    static func kind(_ record: ChangeRecord) -> String {
        switch record.change {
        case .add: "add"
        case .delete: "delete"
        case .modify: "modify"
        case .modifyDN: "modrdn"
        }
    }

    // MARK: policy

    @Test(arguments: [
        ("dn: cn=X,ou=people,dc=example,dc=com\nobjectClass: person\ncn: X\nsn: X\n", "outside"),
        ("dn: cn=Hand Made,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: sn\nsn: Mine\n-\n", "not created by any source"),
        ("dn: cn=Bob,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: 2.5.4.35\n2.5.4.35: secret\n-\n", "userPassword is denied"),
        ("dn: cn=Bob,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: bridgeheadOwner\nbridgeheadOwner: site-c\n-\n", "kept by the agent"),
        ("dn: cn=Bob,ou=site-a,dc=example,dc=com\nchangetype: modrdn\nnewrdn: cn=Bob+userPassword=x\ndeleteoldrdn: 0\n", "userPassword"),
        ("dn: cn=Bob,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: favouriteColour\nfavouriteColour: blue\n-\n", "schema"),
        (
            "dn: cn=A,ou=site-a,dc=example,dc=com\nobjectClass: alias\nobjectClass: extensibleObject\ncn: A\naliasedObjectName: dc=example,dc=com\n",
            "alias"
        ),
        ("dn: cn=Bob,ou=site-a,dc=example,dc=com\ncontrol: 1.2.840.113556.1.4.805 true\nchangetype: delete\n", "controls"),
    ])
    func policyRefusesWithAReason(_ ldif: String, _ fragment: String) async throws {
        let reason = await Self.refusal(try Self.setup(), try Self.message(ldif))
        #expect(reason?.contains(fragment) == true, "\(reason ?? "accepted")")
    }

    @Test func tooManyDeletesWaitForAnOperator() async throws {
        let setup = try Self.setup(maxDeletes: 1)
        do {
            _ = try await setup.planner.plan(
                Self.message(
                    "dn: cn=Alice,ou=site-a,dc=example,dc=com\nchangetype: delete\n\ndn: cn=Bob,ou=site-a,dc=example,dc=com\nchangetype: delete\n"))
            Issue.record("planned")
        } catch {
            guard case PlanError.overThreshold(let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("2 deletes"), "\(reason)")
        }
    }

    @Test func theViewReadsEachEntryOnce() async throws {
        let setup = try Self.setup()
        let message = try Self.message("dn: cn=Bob,ou=site-a,dc=example,dc=com\nchangetype: modify\nreplace: title\ntitle: A\n-\n")
        _ = try await setup.planner.plan(message)
        _ = try await setup.planner.plan(message)
        let reads = await setup.directory.reads.filter { $0.description == "cn=Bob,ou=site-a,dc=example,dc=com" }
        #expect(reads.count == 1)
    }
}
