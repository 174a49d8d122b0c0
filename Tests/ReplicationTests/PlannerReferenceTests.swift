import Config
import LDAPModel
import Replication
import Testing

/// "Never a dangling DN", whatever the naming rule: a reference written in our own namespace (a rule
/// that maps a subtree to itself leaves it as it is) must name an entry too; and a value only
/// removed need not name one (its entry may be gone already: removing the value is the cure).
struct PlannerReferenceTests {
    static let own = DN("ou=site-a,dc=example,dc=com")!

    @Test func aReferenceARuleLeavesAsItIsMustNameAnEntry() async throws {
        let setup = try PlannerTests.setup(naming: [NamingRule(from: Self.own, to: Self.own)])
        let group = """
            dn: cn=Team,ou=site-a,dc=example,dc=com
            changetype: add
            objectClass: groupOfNames
            cn: Team
            member: cn=Ghost,ou=site-a,dc=example,dc=com

            """
        let reason = await PlannerTests.refusal(setup, try PlannerTests.message(group))
        #expect(
            reason?.contains("cn=Ghost,ou=site-a,dc=example,dc=com") == true && reason?.contains("does not exist") == true, "\(reason ?? "accepted")")
        // Naming an entry that exists (Bob), or one the message creates first, is accepted.
        let fine = group.replacingOccurrences(of: "cn=Ghost,", with: "cn=Bob,")
        #expect(await PlannerTests.refusal(setup, try PlannerTests.message(fine)) == nil)
        let created = "dn: cn=Ghost,ou=site-a,dc=example,dc=com\nchangetype: add\nobjectClass: person\ncn: Ghost\nsn: G\n\n" + group
        #expect(await PlannerTests.refusal(setup, try PlannerTests.message(created)) == nil)
    }

    @Test func aValueRemovedNeedNotNameAnEntry() async throws {
        let seed =
            PlannerTests.seed + """

                dn: cn=Team,ou=site-a,dc=example,dc=com
                objectClass: groupOfNames
                objectClass: bridgeheadReplicated
                cn: Team
                member: cn=Bob,ou=site-a,dc=example,dc=com
                member: cn=Gone,ou=site-a,dc=example,dc=com
                bridgeheadOwner: site-a

                """
        let setup = try PlannerTests.setup(seed: seed, naming: [NamingRule(from: DN("ou=SiteA,o=Org")!, to: Self.own)])
        let plan = try await setup.planner.plan(
            PlannerTests.message("dn: cn=Team,ou=SiteA,o=Org\nchangetype: modify\ndelete: member\nmember: cn=Gone,ou=SiteA,o=Org\n-\n"))
        #expect(PlannerTests.ldif(plan).contains("delete: member\nmember: cn=Gone,ou=site-a,dc=example,dc=com"), "\(PlannerTests.ldif(plan))")
    }
}
