import Config
import Foundation
import LDAPClient
import LDAPModel
import Replication
import TestSupport
import Testing

@Suite(.serialized, .ownThread) struct AddressResolverTests {
    private func setUp() async throws -> (Slapd, LDAPConnection) {
        let slapd = try Slapd(seedLDIF: Slapd.recipients)
        let connection = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri), credentials: .simple(dn: slapd.rootDN, password: Array(slapd.rootPassword.utf8)))
        return (slapd, connection)
    }

    @Test func everyFormOfOneMailboxInOneSearch() async throws {
        let (slapd, connection) = try await setUp()
        let resolver = AddressResolver(directory: connection, base: DN(slapd.suffix)!)
        let jdoe = DN("cn=John Doe,ou=people,dc=example,dc=com")!
        let forms = [
            "SMTP:jdoe@SITE-B.example.com", "\"John Doe\" <john.doe@site-b.example.com>", "EX:/o=Org/ou=SiteB/cn=Recipients/cn=jdoe",
            "MSXCHNGE:/O=ORG/OU=SITEB/CN=RECIPIENTS/CN=JDOE", "IMCEAEX-_o=Org_ou=SiteB_cn=Recipients_cn=jdoe@site-a.example.com",
            "X400:c=US;a= ;p=Org;o=SiteB;dda:MSXCHNGE=//o=Org//ou=SiteB//cn=Recipients//cn=jdoe;", "EX:/o=Org/ou=OldSite/cn=Recipients/cn=jdoe",
            "X400:C=us;A= ;P=org;O=siteb;G=john;S=doe", "X500:/o=Org/ou=OldSite/cn=Recipients/cn=jdoe",
        ]
        let results = try await resolver.resolve(forms)
        for (form, result) in zip(forms, results) {
            guard case .resolved(let dn, _) = result else {
                Issue.record("\(form): \(result)")
                continue
            }
            #expect(dn.matches(jdoe), "\(form)")
        }
        #expect(await resolver.searches == 1, "one search for all of them")
        _ = try await resolver.resolve(forms)
        #expect(await resolver.searches == 1, "the second time comes from the cache")
    }

    @Test func notFoundAmbiguousAndOutOfScopeAreDistinct() async throws {
        let (slapd, connection) = try await setUp()
        let base = DN(slapd.suffix)!
        let resolver = AddressResolver(directory: connection, base: base, scope: [DN("ou=people,dc=example,dc=com")!])
        let results = try await resolver.resolve([
            "SMTP:nobody@site-b.example.com", "SMTP:twins@site-b.example.com", "SMTP:admins@site-b.example.com", "garbage",
        ])
        #expect(results[0] == .notFound)
        guard case .ambiguous(let dns) = results[1] else {
            Issue.record("expected ambiguous, got \(results[1])")
            return
        }
        #expect(dns.count == 2)
        #expect(results[2] == .outOfScope(DN("cn=admins,ou=groups,dc=example,dc=com")!))
        guard case .invalid = results[3] else {
            Issue.record("expected invalid, got \(results[3])")
            return
        }
    }

    @Test func namingRulesComeFirst() async throws {
        let (slapd, connection) = try await setUp()
        let rule = NamingRule(from: DN("ou=SiteA,o=Org")!, to: DN("ou=people,dc=example,dc=com")!)
        let resolver = AddressResolver(directory: connection, base: DN(slapd.suffix)!, naming: [rule])
        let results = try await resolver.resolve([
            "cn=Ann Twin,ou=SiteA,o=Org", "EX:/o=Org/ou=SiteA/cn=Ann Twin", "cn=Elsewhere,ou=SiteC,o=Org",
        ])
        #expect(
            results[0] == .resolved(DN("cn=Ann Twin,ou=people,dc=example,dc=com")!, via: "naming rule ou=SiteA,o=Org → ou=people,dc=example,dc=com"))
        #expect(results[1] == results[0], "an EX DN goes through the same rule by its LDAP form")
        #expect(results[2] == .notFound, "a DN no rule covers and no entry holds")
        #expect(await resolver.searches == 0, "naming rules need no search")
    }

    @Test func aLaterSearchFindingTheSameEntryDoesNotMakeAnEarlierAddressAmbiguous() async throws {
        let (slapd, connection) = try await setUp()
        let resolver = AddressResolver(directory: connection, base: DN(slapd.suffix)!)
        let jdoe = DN("cn=John Doe,ou=people,dc=example,dc=com")!
        let x400 = "X400:c=US;a= ;p=Org;o=SiteB;s=Doe;g=John;"
        #expect(try await resolver.resolve(x400) == .resolved(jdoe, via: "proxyAddresses"))
        _ = try await resolver.resolve("SMTP:jdoe@site-b.example.com")  // a second search, which finds John again
        #expect(try await resolver.resolve(x400) == .resolved(jdoe, via: "proxyAddresses"))
        #expect(await resolver.searches == 2)
    }

    @Test func anAddressWhoseNamingRuleTargetIsMissingIsLookedUp() async throws {
        let (slapd, connection) = try await setUp()
        // Exchange keeps legacyExchangeDN when a mailbox moves: the rule's DN is gone, the address is not.
        let rule = NamingRule(from: DN("ou=SiteB,o=Org")!, to: DN("ou=people,dc=example,dc=com")!)
        let resolver = AddressResolver(directory: connection, base: DN(slapd.suffix)!, naming: [rule])
        let results = try await resolver.resolve(["EX:/o=Org/ou=SiteB/cn=Recipients/cn=jdoe", "cn=jdoe,cn=Recipients,ou=SiteB,o=Org"])
        #expect(results[0] == .resolved(DN("cn=John Doe,ou=people,dc=example,dc=com")!, via: "legacyExchangeDN"))
        #expect(
            results[1]
                == .resolved(
                    DN("cn=jdoe,cn=Recipients,ou=people,dc=example,dc=com")!, via: "naming rule ou=SiteB,o=Org → ou=people,dc=example,dc=com"),
            "a source DN stands by its rule; the planner then finds it missing")
    }

    @Test func filterInjectionFindsNothingAndChangesNothing() async throws {
        let (slapd, connection) = try await setUp()
        let before = try slapd.dump()
        let resolver = AddressResolver(directory: connection, base: DN(slapd.suffix)!)
        let hostile = ["SMTP:\"*)(mail=*\"@site-b.example.com", "SMTP:\"*\"@site-b.example.com", "FAX:*)(objectClass=*", "SIP:\\2a"]
        for result in try await resolver.resolve(hostile) {
            #expect(result == .notFound, "\(result)")
        }
        #expect(try slapd.dump() == before)
    }
}
