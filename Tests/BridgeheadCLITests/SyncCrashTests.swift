import Foundation
import LDAPModel
import LDIF
import MailDrop
import TestSupport
import Testing

/// A generated history of one source: messages in its namespace and, for the oracle, the same
/// changes in ours as ldapmodify applies them. Adds, modifies (replace, add and delete values), group
/// membership, deletes and renames, so that a message mixes what goes inside a transaction with what
/// slapd 2.5 must get outside one.
struct GeneratedHistory {
    var messages: [String] = []
    /// The oracle's LDIF, for a target subtree named `TARGET` (replaced per use).
    var oracle = "version: 1\n\n"

    init(messages count: Int, changesPerMessage: Int, seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var people: [String: [String]] = [:]  // cn → telephone numbers
        var members: Set<String> = []
        var serial = 0
        func source(_ cn: String) -> String { "cn=\(cn),ou=people,ou=SiteA,o=Org" }
        func target(_ cn: String) -> String { "cn=\(cn),ou=people,TARGET" }
        var first = """
            version: 1

            dn: ou=SiteA,o=Org
            changetype: add
            objectClass: organizationalUnit
            ou: SiteA

            dn: ou=people,ou=SiteA,o=Org
            changetype: add
            objectClass: organizationalUnit
            ou: people

            dn: cn=crew,ou=SiteA,o=Org
            changetype: add
            objectClass: groupOfNames
            cn: crew
            member: ou=people,ou=SiteA,o=Org


            """
        oracle += """
            dn: TARGET
            changetype: add
            objectClass: organizationalUnit
            objectClass: bridgeheadReplicated
            ou: TARGETRDN
            bridgeheadOwner: site-a

            dn: ou=people,TARGET
            changetype: add
            objectClass: organizationalUnit
            objectClass: bridgeheadReplicated
            ou: people
            bridgeheadOwner: site-a

            dn: cn=crew,TARGET
            changetype: add
            objectClass: groupOfNames
            objectClass: bridgeheadReplicated
            cn: crew
            member: ou=people,TARGET
            bridgeheadOwner: site-a


            """
        for index in 0..<count {
            var body = index == 0 ? first : "version: 1\n\n"
            for _ in 0..<changesPerMessage {
                serial += 1
                let names = people.keys.sorted()
                let loose = names.filter { !members.contains($0) }
                let roll = Int.random(in: 0..<100, using: &random)
                var change: (source: String, target: String)
                if names.count < 4 || roll < 30 {
                    let cn = "p\(serial)"
                    people[cn] = []
                    change.source =
                        "dn: \(source(cn))\nchangetype: add\nobjectClass: inetOrgPerson\ncn: \(cn)\nsn: S\(serial)\ndescription: d\(serial)\n"
                    change.target =
                        "dn: \(target(cn))\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: bridgeheadReplicated\ncn: \(cn)\nsn: S\(serial)\n"
                        + "description: d\(serial)\nbridgeheadOwner: site-a\n"
                } else if roll < 45 {
                    let cn = names.randomElement(using: &random)!
                    change.source = "dn: \(source(cn))\nchangetype: modify\nreplace: description\ndescription: d\(serial)\n-\n"
                    change.target = "dn: \(target(cn))\nchangetype: modify\nreplace: description\ndescription: d\(serial)\n-\n"
                } else if roll < 58 {
                    let cn = names.randomElement(using: &random)!
                    let number = "+1 555 \(1000 + serial)"
                    people[cn]!.append(number)
                    change.source = "dn: \(source(cn))\nchangetype: modify\nadd: telephoneNumber\ntelephoneNumber: \(number)\n-\n"
                    change.target = "dn: \(target(cn))\nchangetype: modify\nadd: telephoneNumber\ntelephoneNumber: \(number)\n-\n"
                } else if roll < 66, let cn = names.first(where: { !people[$0]!.isEmpty }) {
                    let number = people[cn]!.removeFirst()
                    change.source = "dn: \(source(cn))\nchangetype: modify\ndelete: telephoneNumber\ntelephoneNumber: \(number)\n-\n"
                    change.target = "dn: \(target(cn))\nchangetype: modify\ndelete: telephoneNumber\ntelephoneNumber: \(number)\n-\n"
                } else if roll < 78, let cn = loose.randomElement(using: &random) {
                    members.insert(cn)
                    change.source = "dn: cn=crew,ou=SiteA,o=Org\nchangetype: modify\nadd: member\nmember: \(source(cn))\n-\n"
                    change.target = "dn: cn=crew,TARGET\nchangetype: modify\nadd: member\nmember: \(target(cn))\n-\n"
                } else if roll < 84, let cn = members.sorted().randomElement(using: &random) {
                    members.remove(cn)
                    change.source = "dn: cn=crew,ou=SiteA,o=Org\nchangetype: modify\ndelete: member\nmember: \(source(cn))\n-\n"
                    change.target = "dn: cn=crew,TARGET\nchangetype: modify\ndelete: member\nmember: \(target(cn))\n-\n"
                } else if roll < 92, loose.count > 2, let cn = loose.randomElement(using: &random) {
                    people[cn] = nil
                    change.source = "dn: \(source(cn))\nchangetype: delete\n"
                    change.target = "dn: \(target(cn))\nchangetype: delete\n"
                } else if loose.count > 2, let cn = loose.randomElement(using: &random) {
                    let renamed = "r\(serial)"
                    people[renamed] = people.removeValue(forKey: cn)
                    change.source = "dn: \(source(cn))\nchangetype: modrdn\nnewrdn: cn=\(renamed)\ndeleteoldrdn: 1\n"
                    change.target = "dn: \(target(cn))\nchangetype: modrdn\nnewrdn: cn=\(renamed)\ndeleteoldrdn: 1\n"
                } else {
                    let cn = names.randomElement(using: &random)!
                    change.source = "dn: \(source(cn))\nchangetype: modify\nreplace: description\ndescription: d\(serial)\n-\n"
                    change.target = "dn: \(target(cn))\nchangetype: modify\nreplace: description\ndescription: d\(serial)\n-\n"
                }
                body += change.source + "\n"
                oracle += change.target + "\n"
            }
            messages.append(body)
            first = ""
        }
    }
}

/// The real run killed with SIGKILL at 20 instants spread over its length, then run again to the
/// end: each time the directory equals the oracle and every message is in exactly one place.
@Suite(.serialized, .ownThread) struct SyncCrashTests {
    /// With the default (no transactions on OpenLDAP). The transactional path is not killed here:
    /// slapd 2.5.13 can crash when a client dies inside a transaction, which is why it is off.
    @Test func killedAtTwentyInstantsAndRunAgainEndsLikeTheOracle() throws {
        let history = GeneratedHistory(messages: 12, changesPerMessage: 12, seed: 20_261_129)
        // The servers, keys and folder of the end-to-end tests; each trial writes its own configuration.
        let world = try SyncEndToEndTests.World()
        let (folder, slapd, pki) = (world.folder, world.slapd, world.pki)

        // The oracle, once, under ou=site-a.
        let oracleServer = try Slapd(Slapd.Options(seeds: try SyncEndToEndTests.World.seeds(folder)))
        defer { oracleServer.stop() }
        let oracleFile = folder.appendingPathComponent("oracle.ldif")
        try Data(
            history.oracle.replacingOccurrences(of: "TARGETRDN", with: "site-a").replacingOccurrences(
                of: "TARGET", with: "ou=site-a,dc=example,dc=com"
            )
            .utf8
        ).write(to: oracleFile)
        let oracleApplied = try oracleServer.ldapmodify(file: oracleFile.path)
        try #require(oracleApplied.status == 0, "\(oracleApplied.stderr)")
        let oracle = Self.subtree(try DirectorySnapshot(ldif: try oracleServer.dump()), "ou=site-a,dc=example,dc=com")

        // Every trial: its own subtree, state container and Maildir on the same slapd; messages signed once.
        let signed = try history.messages.enumerated().map { index, body in
            try world.message(ldif: body, source: "site-a", sequence: index + 1, signer: "rsa")
        }
        func prepare(_ trial: Int) throws -> (config: String, maildir: String, subtree: String) {
            let maildir = folder.appendingPathComponent("Maildir-\(trial)").path
            for (index, bytes) in signed.enumerated() {
                // Delivered in reverse order, to exercise the ordering too.
                let path = try Maildir.deliver(bytes, to: maildir, name: "\(1_800_000_000 + index).M\(index).msg\(index + 1)")
                try FileManager.default.setAttributes(
                    [.modificationDate: Date(timeIntervalSince1970: 1_800_000_100 - Double(index))], ofItemAtPath: path)
            }
            let subtree = "ou=site-a-\(trial),dc=example,dc=com"
            let config = folder.appendingPathComponent("trial-\(trial).toml").path
            let text = """
                [ldap]
                uri = "\(slapd.uri)"
                bind_dn = "\(slapd.rootDN)"
                password_file = "ldap.secret"
                state_dn = "ou=state-\(trial),dc=example,dc=com"
                [mail]
                maildir = "\(maildir)"
                [agent]
                lock_file = "\(folder.path)/lock-\(trial)"
                [[source]]
                id = "site-a"
                addresses = ["dra@site-a.example.com"]
                certificate = "\(pki.path("ca.pem"))"
                naming = [{ from = "ou=SiteA,o=Org", to = "\(subtree)" }]

                """
            try Data(text.utf8).write(to: URL(fileURLWithPath: config))
            return (config, maildir, subtree)
        }
        func check(_ trial: Int, _ maildir: String, _ subtree: String, _ note: String) throws {
            let result = Self.subtree(try DirectorySnapshot(ldif: try slapd.dump()), subtree)
            let differences = result.differences(from: oracle)
            #expect(differences.isEmpty && result == oracle, "trial \(trial) (\(note)): the directory differs from the oracle:\n\(differences)")
            var places: [String: Int] = [:]
            for sub in ["new", "cur", ".Processed/new", ".Processed/cur", ".Quarantine/new", ".Quarantine/cur"] {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: maildir + "/" + sub)) ?? [] {
                    places[String(name.split(separator: ":")[0]), default: 0] += 1
                }
            }
            #expect(
                places.count == signed.count && places.values.allSatisfy { $0 == 1 }, "trial \(trial): every message in exactly one place: \(places)")
            let processed = (try? FileManager.default.contentsOfDirectory(atPath: maildir + "/.Processed/cur"))?.count ?? 0
            #expect(processed == signed.count, "trial \(trial): all processed")
        }

        // Trials 0 and 21 run undisturbed and measure how long a run takes: the shorter of the two,
        // since the first run on a cold server and binary is slower than the ones that follow (with
        // the first alone, only 9 of 20 kills once landed inside a run).
        var duration = Double.infinity
        for trial in [0, 21] {
            let (config0, maildir0, subtree0) = try prepare(trial)
            let started = Date()
            let clean = try Command.run(CLITests.binary, ["sync", "--config", config0])
            duration = min(duration, Date().timeIntervalSince(started))
            try #require(clean.status == 0, "\(clean.stderr)")
            try check(trial, maildir0, subtree0, "no crash")
        }

        // Trials 1…20: killed at an instant in the k-th twentieth of that duration, then run again.
        var random = SeededGenerator(seed: 42)
        var interrupted = 0
        for trial in 1...20 {
            let (config, maildir, subtree) = try prepare(trial)
            // Spread over nine tenths of the measured length: a later run may be quicker than the first.
            let instant = 0.9 * duration * (Double(trial - 1) + Double.random(in: 0..<1, using: &random)) / 20
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLITests.binary)
            process.arguments = ["sync", "--config", config]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: instant)
            if process.isRunning {
                interrupted += 1
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            #expect(slapd.isRunning, "trial \(trial): slapd died when the agent was killed")
            let again = try Command.run(CLITests.binary, ["sync", "--config", config])
            #expect(slapd.isRunning, "trial \(trial): slapd died during the run after the kill")
            #expect(again.status == 0, "trial \(trial): the run after the crash: \(again.stderr)")
            try check(trial, maildir, subtree, String(format: "killed after %.3f s of %.3f s", instant, duration))
        }
        // A sanity check that the test is not vacuous; timing on a shared machine varies.
        #expect(interrupted >= 10, "most kills land inside a run (\(interrupted) of 20 did)")
    }

    /// The entries of `subtree`, renamed to lie under ou=site-a, so that trials compare with the oracle.
    static func subtree(_ snapshot: DirectorySnapshot, _ subtree: String) -> DirectorySnapshot {
        let from = subtree.lowercased()
        let to = "ou=site-a,dc=example,dc=com"
        var result = DirectorySnapshot(entries: [])
        for (dn, attributes) in snapshot.entries where dn.hasSuffix(from) {
            var renamed: [String: [[UInt8]]] = [:]
            for (name, values) in attributes {
                renamed[name] = values.map { value in
                    Array(String(decoding: value, as: UTF8.self).replacingOccurrences(of: subtree, with: to).utf8)
                }.sorted { $0.lexicographicallyPrecedes($1) }
                if name == "ou" {
                    renamed[name] = renamed[name]!.map {
                        String(decoding: $0, as: UTF8.self) == subtree.split(separator: ",")[0].dropFirst(3).description ? Array("site-a".utf8) : $0
                    }
                }
            }
            result.entries[String(dn.dropLast(from.count)) + to] = renamed
        }
        return result
    }
}
