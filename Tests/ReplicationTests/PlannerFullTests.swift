import Config
import Foundation
import LDAPModel
import LDIF
import MessageFormat
import Replication
import SMIME
import TestSupport
import Testing

/// Full messages longer than the planner's batch: planned a batch at a time against digests of what
/// the source owns, with the same outcome as if they were planned whole.
struct PlannerFullTests {
    static let many = Planner.fullBatch + 500

    /// The planner of PlannerTests, with site A's naming rule (references resolve by it, and must
    /// name an entry that exists or that the message lists).
    static func setup() throws -> PlannerTests.Setup {
        try PlannerTests.setup(naming: [NamingRule(from: DN("ou=SiteA,o=Org")!, to: DN("ou=site-a,dc=example,dc=com")!)], maxDeletes: 5)
    }

    /// Alice as the seed has her, but for her surname's case (sn is caseIgnore); a team whose member
    /// is listed in the second batch; then `many` people.
    static let ldif: String = {
        var text = """
            dn: cn=Alice,ou=SiteA,o=Org
            objectClass: inetOrgPerson
            cn: Alice
            sn: ANDERS
            mail: alice@site-a.example.com
            telephoneNumber: +44 20 7946 0000
            legacyExchangeDN: /o=SiteA/ou=Admin/cn=Recipients/cn=alice

            dn: cn=Team,ou=SiteA,o=Org
            objectClass: groupOfNames
            cn: Team
            member: cn=p\(many - 1),ou=SiteA,o=Org


            """
        for serial in 0..<many { text += "dn: cn=p\(serial),ou=SiteA,o=Org\nobjectClass: person\ncn: p\(serial)\nsn: S\n\n" }
        return text
    }()

    /// An unchanged entry that differs where its matching rule ignores the difference is read,
    /// compared and left; a reference to an entry of a later batch is no dangling reference; what the
    /// source owns and the message does not list goes, after the rest.
    @Test func intoADirectoryThatHoldsLittleOfIt() async throws {
        let setup = try Self.setup()
        let plan = try await setup.planner.plan(PlannerTests.message(Self.ldif, kind: .full))
        #expect(plan.unchanged == 1, "Alice, whose sn differs in case only")
        #expect(plan.changes.count == Self.many + 2 && plan.deletes == 1, "the people and the team added, Bob deleted")
        #expect(plan.changes.last.map { PlannerTests.kind($0.record) } == "delete")
        #expect(plan.changes.last?.record.dn.description == "cn=Bob,ou=site-a,dc=example,dc=com")
    }

    /// Once applied, the same message again: every entry whose content is byte for byte the message's
    /// is known by its digest and never read; only Alice (ANDERS in the message, Anders here) is.
    @Test func againstWhatItLeftEveryEqualEntryIsKnownByItsDigest() async throws {
        let setup = try Self.setup()
        let plan = try await setup.planner.plan(PlannerTests.message(Self.ldif, kind: .full))
        for change in plan.changes {
            switch change.record.change {
            case .add(let attributes): await setup.directory.put(Entry(dn: change.record.dn, attributes: attributes))
            case .delete: await setup.directory.remove(change.record.dn)
            default: Issue.record("unexpected \(change.record.summary)")
            }
        }
        let fresh = try Self.setup()
        for entry in await setup.directory.all() { await fresh.directory.put(entry) }
        await fresh.directory.remove(DN("cn=Bob,ou=site-a,dc=example,dc=com")!)
        let again = try await fresh.planner.plan(PlannerTests.message(Self.ldif, kind: .full))
        #expect(again.changes.isEmpty && again.unchanged == Self.many + 2)
        let reads = await fresh.directory.reads.map(\.description)
        #expect(reads == ["cn=Alice,ou=site-a,dc=example,dc=com"], "\(reads.prefix(5))")
    }

    /// Refusals name the record's place in the whole message, not in its batch.
    @Test func aRefusalInALaterBatchNamesItsRecord() async throws {
        let setup = try Self.setup()
        let dangling =
            Self.ldif + "dn: cn=Other,ou=SiteA,o=Org\nobjectClass: groupOfNames\ncn: Other\nmember: cn=nobody,ou=SiteA,o=Org\n\n"
        let reason = await PlannerTests.refusal(setup, try PlannerTests.message(dangling, kind: .full))
        #expect(reason?.contains("record \(Self.many + 3): member") == true && reason?.contains("does not exist") == true, "\(reason ?? "accepted")")
        let outside = Self.ldif + "dn: cn=X,ou=people,dc=example,dc=com\nobjectClass: person\ncn: X\nsn: X\n\n"
        let refused = await PlannerTests.refusal(setup, try PlannerTests.message(outside, kind: .full))
        #expect(refused?.contains("record \(Self.many + 3): cn=X,ou=people") == true, "\(refused ?? "accepted")")
    }

    /// A reference to an entry that exists now but that the message leaves out (so the plan deletes
    /// it) would dangle once applied: refused.
    @Test func aReferenceToWhatTheMessageLeavesOutIsRefused() async throws {
        let setup = try Self.setup()
        let ldif =
            "dn: cn=Alice,ou=SiteA,o=Org\nobjectClass: inetOrgPerson\ncn: Alice\nsn: Anders\nmail: alice@site-a.example.com\n\n"
            + "dn: cn=Team,ou=SiteA,o=Org\nobjectClass: groupOfNames\ncn: Team\nmember: cn=Bob,ou=SiteA,o=Org\n\n"
        let reason = await PlannerTests.refusal(setup, try PlannerTests.message(ldif, kind: .full))
        #expect(
            reason?.contains("record 2: member") == true && reason?.contains("does not list (it would be deleted)") == true, "\(reason ?? "accepted")"
        )
        // Listed, Bob stays, and the reference is fine.
        let listed = ldif + "dn: cn=Bob,ou=SiteA,o=Org\nobjectClass: inetOrgPerson\ncn: Bob\nsn: Baker\nmail: bob@site-a.example.com\n\n"
        #expect(await PlannerTests.refusal(setup, try PlannerTests.message(listed, kind: .full)) == nil)
    }

    /// Deletes past the source's threshold wait for an operator, however the records were batched.
    @Test func theDeleteThresholdCountsWhatTheWholeMessageLeavesOut() async throws {
        let setup = try Self.setup()
        let plan = try await setup.planner.plan(PlannerTests.message(Self.ldif, kind: .full))
        for change in plan.changes {
            if case .add(let attributes) = change.record.change { await setup.directory.put(Entry(dn: change.record.dn, attributes: attributes)) }
        }
        setup.view.commit(plan)  // (as a run does after each message)
        // Only the first 2,000 people listed: 500 of what the source owns would go (Bob went with the first).
        // (The team names p0 now: naming one the message leaves out is refused before any threshold.)
        let shorter = Self.ldif.components(separatedBy: "dn: cn=p2000,")[0].replacingOccurrences(
            of: "member: cn=p\(Self.many - 1),", with: "member: cn=p0,")
        do {
            _ = try await setup.planner.plan(PlannerTests.message(shorter, kind: .full))
            Issue.record("planned")
        } catch {
            guard case PlanError.overThreshold(let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(reason.contains("500 deletes"), "\(reason)")
        }
    }

    /// From a large message's file the records come a batch ahead of the planner (read on another
    /// thread while it plans the batch before): the same plan as from the records held. A file
    /// changed after its check refuses the plan, whichever batch holds the change.
    /// `ldif` as a signed full message in a file, decoded from it as sync reads a large message.
    static func streamed(_ ldif: String, _ pki: TestPKI) async throws -> (message: StreamedMessage, file: URL, bytes: [UInt8]) {
        let entity =
            "Content-Type: application/ldif; charset=utf-8\r\nBridgehead-Format: 1\r\nBridgehead-Source: site-a\r\n"
            + "Bridgehead-Sequence: 1\r\nBridgehead-Kind: full\r\n\r\nversion: 1\r\n\r\n"
            + ldif.replacingOccurrences(of: "\n", with: "\r\n")
        let input = pki.directory.appendingPathComponent("full-entity")
        try Data(entity.utf8).write(to: input)
        let bytes = try pki.openssl([
            "cms", "-sign", "-in", input.path, "-signer", pki.path("rsa.pem"), "-inkey", pki.path("rsa.key"), "-binary", "-md", "sha256",
            "-from", "dra@site-a.example.com", "-to", "dra@site-b.example.com", "-subject", "replication",
        ]).stdoutBytes
        let file = pki.directory.appendingPathComponent("full.eml")
        try Data(bytes).write(to: file)
        let decoder = MessageDecoder(verifier: try SMIMEVerifier(pemFiles: [pki.path("ca.pem")]))
        return (try await decoder.decode(file: file.path, checkingRecords: false), file, bytes)
    }

    @Test func fromItsFileTheSamePlanAndAChangedFileIsRefused() async throws {
        let pki = try TestPKI()
        let (streamed, file, signed) = try await Self.streamed(Self.ldif, pki)
        var bytes = signed

        let held = try await Self.setup().planner.plan(PlannerTests.message(Self.ldif, kind: .full))
        let read = try await Self.setup().planner.plan(streamed.decoded.message, records: RecordBatches(streamed))
        #expect(PlannerTests.ldif(read) == PlannerTests.ldif(held) && read.unchanged == held.unchanged)

        // The last person's sn, in the second batch (rewritten in place: the open file sees it).
        let at = bytes.lastRange(of: Array("sn: S".utf8))!.upperBound - 1
        bytes[at] = UInt8(ascii: "T")
        let handle = try FileHandle(forWritingTo: file)
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
        do {
            _ = try await Self.setup().planner.plan(streamed.decoded.message, records: RecordBatches(streamed))
            Issue.record("a changed file was planned")
        } catch {
            #expect("\(error)".contains("changed while it was read"), "\(error)")
        }
    }

    /// The next batch is read and checked (names, what it writes) ahead, while the planner works on
    /// the one before; the refusal is still the first fault in the message's order: a record of the
    /// first batch outside the source's subtrees (found only when that batch is planned), not a
    /// name the schema does not know in the second (found as soon as it is read); and the same
    /// words as from the records held.
    @Test func readAheadTheFirstFaultIsStillTheOneReported() async throws {
        let pki = try TestPKI()
        var people = Self.ldif.components(separatedBy: "dn: cn=p0,")
        people[1] = "dn: cn=X,ou=people,dc=example,dc=com\nobjectClass: person\ncn: X\nsn: X\n\ndn: cn=p0," + people[1]
        let ldif = people.joined(separator: "") + "dn: cn=Y,ou=SiteA,o=Org\nobjectClass: person\ncn: Y\nsn: Y\nnoSuchName: y\n\n"
        // Alone, the second batch's fault is found (from the file as from memory).
        let second = ldif.replacingOccurrences(of: "dn: cn=X,ou=people,dc=example,dc=com\nobjectClass: person\ncn: X\nsn: X\n\n", with: "")
        for (ldif, fault) in [(ldif, "record 3: cn=X,ou=people"), (second, "record \(Self.many + 3)")] {
            let (streamed, _, _) = try await Self.streamed(ldif, pki)
            let held = await PlannerTests.refusal(try Self.setup(), try PlannerTests.message(ldif, kind: .full))
            do {
                _ = try await Self.setup().planner.plan(streamed.decoded.message, records: RecordBatches(streamed))
                Issue.record("planned")
            } catch {
                #expect("\(error)".contains(fault) && "\(error)" == held, "\(error) / \(held ?? "accepted")")
            }
        }
    }

    /// A plan too large to hold (here: any, or past a kilobyte) is kept in a temporary file and read
    /// back the same, operation for operation: adds, modifies with binary values and options, one
    /// that only removes a value, references, the deletes after them.
    @Test func aSpilledPlanReadsBackAsTheHeldOne() async throws {
        let setup = try Self.setup()
        let first = try await setup.planner.plan(PlannerTests.message(Self.ldif, kind: .full))
        for change in first.changes {
            if case .add(let attributes) = change.record.change { await setup.directory.put(Entry(dn: change.record.dn, attributes: attributes)) }
        }
        let photo = (0..<3_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        func person(_ serial: Int) -> String { "dn: cn=p\(serial),ou=SiteA,o=Org\nobjectClass: person\ncn: p\(serial)\nsn: S\n\n" }
        let changed =
            Self.ldif
            .replacingOccurrences(of: person(5), with: person(5).replacingOccurrences(of: "sn: S", with: "sn: Changed"))
            .replacingOccurrences(
                of: person(6),
                with: "dn: cn=p6,ou=SiteA,o=Org\nobjectClass: inetOrgPerson\ncn: p6\nsn: S\njpegPhoto:: \(Data(photo).base64EncodedString())\n"
                    + "description;lang-fr:: \(Data("été".utf8).base64EncodedString())\n\n"
            )
            .replacingOccurrences(of: person(9), with: "")
            .replacingOccurrences(of: "telephoneNumber: +44 20 7946 0000\n", with: "")  // (a value only removed)
            + "dn: cn=New,ou=SiteA,o=Org\nobjectClass: groupOfNames\ncn: New\nmember: cn=p6,ou=SiteA,o=Org\nmember: cn=Alice,ou=SiteA,o=Org\n\n"
        let message = try PlannerTests.message(changed, kind: .full)
        let held = try await Self.setup(with: setup).planner.plan(message)
        let kinds = held.changes.map { PlannerTests.kind($0.record) }
        #expect(!held.changes.isSpilled && kinds.sorted() == ["add", "delete", "delete", "modify", "modify", "modify"], "\(kinds)")
        for limit in [0, 1_000] {
            var planner = try await Self.setup(with: setup).planner
            planner.spillAbove = limit
            let spilled = try await planner.plan(message)
            #expect(spilled.changes.isSpilled)
            #expect(Array(spilled.changes) == Array(held.changes), "limit \(limit)")
            #expect(try spilled.changes.changes(in: 0..<spilled.changes.count) == Array(held.changes))
            #expect(spilled.unchanged == held.unchanged)
        }
    }

    /// A fresh planner over the entries `other` holds.
    static func setup(with other: PlannerTests.Setup) async throws -> PlannerTests.Setup {
        let fresh = try setup()
        for entry in await other.directory.all() { await fresh.directory.put(entry) }
        return fresh
    }
}
