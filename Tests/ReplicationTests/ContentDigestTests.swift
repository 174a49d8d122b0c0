import LDAPModel
import Testing

@testable import Replication

/// A full message's record is known unchanged by the digest of what the planner would write for it
/// (`withAgentAttributes`), worked out without writing it (`agentDigest`): the same for every
/// shape of record, with the keys kept by position from record to record; different only where a
/// value is listed twice (then the record is compared with its entry, which is always right).
struct ContentDigestTests {
    static let records: [[Attribute]] = [
        [
            Attribute("objectClass", strings: ["inetOrgPerson"]), Attribute("cn", strings: ["Alice"]), Attribute("sn", strings: ["Anders"]),
            Attribute("mail", strings: ["alice@example.com"]),
        ],
        // objectClass in two places, the marking class already there (in another case), an owner listed.
        [
            Attribute("objectclass", strings: ["person"]), Attribute("cn", strings: ["Bob"]),
            Attribute("OBJECTCLASS", strings: ["BridgeheadREPLICATED"]),
            Attribute("sn", strings: ["Baker"]), Attribute("bridgeheadOwner", strings: ["site-z"]),
        ],
        // Options, an attribute in two places, an owner with options and capitals, objectClass with an option.
        [
            Attribute("objectClass;x-a", strings: ["person"]), Attribute("description;lang-en", strings: ["one"]),
            Attribute("description", strings: ["two"]), Attribute("CN", strings: ["Carol"]), Attribute("cn", strings: ["C"]),
            Attribute("sn", strings: ["Cole"]), Attribute("BRIDGEHEADOWNER;x-b", strings: ["site-y"]),
        ],
        // By OID, and a binary value.
        [Attribute("2.5.4.0", strings: ["person"]), Attribute("2.5.4.3", strings: ["Dan"]), Attribute("sn", values: [[0, 1, 255]])],
        [],
    ]

    @Test func theAgentDigestIsTheDigestOfWhatThePlannerWrites() throws {
        let planner = try PlannerTests.setup().planner
        var shared = Planner.DigestKeys()
        // Each record after each other (the keys kept by place from one to the next), twice.
        for attributes in Self.records + Self.records.reversed() {
            var fresh = Planner.DigestKeys()
            let written = planner.contentDigest(planner.withAgentAttributes(attributes), &fresh)
            #expect(planner.agentDigest(attributes, &shared) == written, "\(attributes.map(\.description.description))")
            // Neither the order of the attributes nor of their values counts.
            var again = Planner.DigestKeys()
            #expect(planner.contentDigest(planner.withAgentAttributes(attributes).reversed(), &again) == written)
        }
        // Another value, another attribute, another owner's: another digest.
        var keys = Planner.DigestKeys()
        let alice = planner.agentDigest(Self.records[0], &keys)
        var changed = Self.records[0]
        changed[2].values = [Array("Andersen".utf8)]
        #expect(planner.agentDigest(changed, &keys) != alice)
        changed = Self.records[0]
        changed[2] = Attribute("givenName", strings: ["Anders"])
        #expect(planner.agentDigest(changed, &keys) != alice)
        // A value listed twice is kept once in what is written: not the same digest, so compared.
        changed = Self.records[0] + [Attribute("mail", strings: ["alice@example.com"])]
        var fresh = Planner.DigestKeys()
        #expect(planner.agentDigest(changed, &keys) != planner.contentDigest(planner.withAgentAttributes(changed), &fresh))
    }
}
