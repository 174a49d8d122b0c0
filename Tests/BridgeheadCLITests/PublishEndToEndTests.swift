import Foundation
import LDAPModel
import LDIF
import MailDrop
import MessageFormat
import SMIME
import TestSupport
import Testing

/// Two sites end to end: site A's slapd with slapo-accesslog → `bridgehead publish` (Maildir
/// transport into site B's drop) → `bridgehead sync` → site B's slapd. After every round B's copy of
/// A's published subtree (ou=people at A, ou=site-a at B) equals A's.
@Suite(.serialized, .ownThread) struct PublishEndToEndTests {
    final class Sites {
        let a: Slapd
        let b: Slapd
        let pki: TestPKI
        let folder: URL
        let publisherConfig: String
        let receiverConfig: String
        let drop: String
        let outbox: String
        /// The publisher's own drop, where requests arrive.
        let requestDrop: String

        /// `drop`: the receiver's Maildir (default: one in the test's folder).
        /// `requests`: the receiver asks for what a gap lacks (after `resendAfterHours`), into the
        /// publisher's own drop, which the publisher reads for its peer site-b's requests.
        init(
            maxChanges: Int = 500, transport: String? = nil, drop: String? = nil, logPurge: String? = nil, requests: Bool = false,
            resendAfterHours: Double = 0.002, dovecot: Dovecot? = nil
        ) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-publish-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var options = Slapd.Options(overlays: true)
            options.logPurge = logPurge
            a = try Slapd(options)
            b = try Slapd()
            pki = try TestPKI()
            try pki.openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=site-a", "-keyout", pki.path("site-a.key"),
                "-out", pki.path("site-a.pem"), "-addext", "keyUsage=critical,digitalSignature",
            ])
            try pki.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=site-b",
                "-keyout", pki.path("site-b.key"), "-out", pki.path("site-b.pem"), "-addext", "keyUsage=critical,digitalSignature",
            ])
            self.drop = dovecot?.maildir ?? drop ?? folder.appendingPathComponent("b-drop").path
            // The receiver reads its drop over IMAP from Dovecot, into whose Maildir site A delivers.
            var receiverMail = "maildir = \"\(self.drop)\""
            if let dovecot {
                let secret = folder.appendingPathComponent("imap.secret")
                try Data(dovecot.password.utf8).write(to: secret)
                chmod(secret.path, 0o600)
                receiverMail = """
                    imap_url = "imap://127.0.0.1:\(dovecot.port)/INBOX"
                    imap_user = "\(dovecot.user)"
                    imap_password_file = "\(secret.path)"
                    imap_allow_plaintext = true
                    """
            }
            requestDrop = folder.appendingPathComponent("a-drop").path
            // Site A's mailbox, as its mail server made it.
            for sub in ["new", "cur", "tmp"] {
                try FileManager.default.createDirectory(atPath: requestDrop + "/" + sub, withIntermediateDirectories: true)
            }
            let peer =
                requests
                ? """
                [mail]
                maildir = "\(requestDrop)"

                [[peer]]
                id = "site-b"
                addresses = ["dra@site-b.example.com"]
                certificate = "\(pki.path("site-b.pem"))"

                """ : ""
            let asking =
                requests
                ? """
                id = "site-b"
                addresses = ["dra@site-b.example.com"]
                sign_cert = "\(pki.path("site-b.pem"))"
                sign_key = "\(pki.path("site-b.key"))"
                resend_after_hours = \(resendAfterHours)
                transport = "maildir"
                deliver_maildir = "\(requestDrop)"

                """ : ""
            outbox = folder.appendingPathComponent("outbox").path
            publisherConfig = folder.appendingPathComponent("a.toml").path
            receiverConfig = folder.appendingPathComponent("b.toml").path
            try Data(
                """
                [ldap]
                uri = "\(a.uri)"
                bind_dn = "\(a.rootDN)"
                password_file = "\(a.passwordFile)"
                state_dn = "ou=bridgehead,dc=example,dc=com"

                [publish]
                source_id = "site-a"
                subtrees = ["ou=people,dc=example,dc=com"]
                from = "dra@site-a.example.com"
                to = ["dra@site-b.example.com"]
                sign_cert = "\(pki.path("site-a.pem"))"
                sign_key = "\(pki.path("site-a.key"))"
                outbox = "\(outbox)"
                \(transport ?? "transport = \"maildir\"\ndeliver_maildir = \"\(self.drop)\"")
                lock_file = "\(folder.path)/publish.lock"
                metrics_file = "\(folder.path)/publish.prom"
                max_changes = \(maxChanges)

                \(peer)
                """.utf8
            ).write(to: URL(fileURLWithPath: publisherConfig))
            try Data(
                """
                [ldap]
                uri = "\(b.uri)"
                bind_dn = "\(b.rootDN)"
                password_file = "\(b.passwordFile)"
                state_dn = "ou=bridgehead,dc=example,dc=com"

                [mail]
                \(receiverMail)

                [agent]
                lock_file = "\(folder.path)/sync.lock"
                max_deletes_per_run = -1
                \(asking)
                [[source]]
                id = "site-a"
                addresses = ["dra@site-a.example.com"]
                certificate = "\(pki.path("site-a.pem"))"
                naming = [{ from = "ou=people,dc=example,dc=com", to = "ou=site-a,dc=example,dc=com" }]
                max_deletes = -1

                """.utf8
            ).write(to: URL(fileURLWithPath: receiverConfig))
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        /// Changes made at site A as an administrator would, with ldapmodify.
        func change(_ ldif: String) throws {
            let output = try Command.run(
                "/usr/bin/ldapmodify", ["-x", "-H", a.uri, "-D", a.rootDN, "-y", a.passwordFile], input: Array(ldif.utf8))
            #expect(output.status == 0, "ldapmodify: \(output.stderr)")
        }

        func publish(_ arguments: [String] = []) throws -> Command.Output {
            try Command.run(CLITests.binary, ["publish", "--config", publisherConfig] + arguments)
        }

        func sync(_ arguments: [String] = []) throws -> Command.Output {
            try Command.run(CLITests.binary, ["sync", "--config", receiverConfig] + arguments)
        }

        /// A's subtree in B's namespace, and B's copy without the receiver's own marks.
        func snapshots() throws -> (a: DirectorySnapshot, b: DirectorySnapshot) {
            let search = { (slapd: Slapd, base: String) throws -> String in
                let output = try Command.run(
                    "/usr/bin/ldapsearch",
                    ["-LLL", "-o", "ldif_wrap=no", "-x", "-H", slapd.uri, "-D", slapd.rootDN, "-y", slapd.passwordFile, "-b", base])
                return output.stdout
            }
            let source = try search(a, "ou=people,dc=example,dc=com")
                .replacingOccurrences(of: "ou=people,dc=example,dc=com", with: "ou=site-a,dc=example,dc=com")
                .replacingOccurrences(of: "\nou: people\n", with: "\nou: site-a\n")
            var copy = try DirectorySnapshot(ldif: try search(b, "ou=site-a,dc=example,dc=com"))
            for dn in copy.entries.keys {
                copy.entries[dn] = copy.entries[dn]?.filter { !$0.key.hasPrefix("bridgehead") }
                copy.entries[dn]?["objectclass"]?.removeAll { String(decoding: $0, as: UTF8.self).lowercased() == "bridgeheadreplicated" }
            }
            return (try DirectorySnapshot(ldif: source), copy)
        }

        func expectEqual(_ round: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let (source, copy) = try snapshots()
            #expect(source == copy, "\(round): \(source.differences(from: copy))", sourceLocation: sourceLocation)
        }

        /// `bridgehead status --format json` of the publisher's configuration: its "publisher" part.
        func publisherStatus() throws -> [String: Any] {
            let output = try Command.run(CLITests.binary, ["status", "--config", publisherConfig, "--format", "json"])
            #expect(output.status == 0, "\(output.stderr)")
            return try json(output)["publisher"] as? [String: Any] ?? [:]
        }

        /// Delivers into site A's drop a request from site-b, signed with `signer`'s key ("site-b", or
        /// another one for a forgery).
        func deliverRequest(_ request: ReplicationMessage.Request, signer: String = "site-b") throws {
            let key = try SMIMESigner(certificateFile: pki.path("\(signer).pem"), keyFile: pki.path("\(signer).key"))
            let bytes = try ReplicationMessage.request(request, from: "site-b", to: "site-a")
                .compose(from: "dra@site-b.example.com", to: "dra@site-a.example.com", signer: key)
            try Maildir.deliver(bytes, to: requestDrop)
        }

        func metrics() -> String { (try? String(contentsOfFile: folder.path + "/publish.prom", encoding: .utf8)) ?? "" }

        func json(_ output: Command.Output) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any] ?? [:]
        }

        /// A sync report's messages as "SEQUENCE OUTCOME", sorted.
        func outcomes(_ output: Command.Output) throws -> [String] {
            let messages = try json(output)["messages"] as? [[String: Any]] ?? []
            return messages.map { "\($0["sequence"] ?? "?") \($0["outcome"] ?? "?")" }.sorted()
        }
    }

    static let first = """
        dn: ou=people,dc=example,dc=com
        changetype: add
        objectClass: organizationalUnit
        ou: people

        dn: cn=Al,ou=people,dc=example,dc=com
        changetype: add
        objectClass: inetOrgPerson
        cn: Al
        sn: A
        description: one
        jpegPhoto:: AAEC/w==

        dn: ou=outside,dc=example,dc=com
        changetype: add
        objectClass: organizationalUnit
        ou: outside

        """

    static let second = """
        dn: ou=dept,ou=people,dc=example,dc=com
        changetype: add
        objectClass: organizationalUnit
        ou: dept

        dn: cn=Out,ou=outside,dc=example,dc=com
        changetype: add
        objectClass: inetOrgPerson
        cn: Out
        sn: O

        dn: cn=Al,ou=people,dc=example,dc=com
        changetype: modify
        add: description
        description: zwei ü
        description: drei
        -
        delete: description
        description: one
        -
        replace: jpegPhoto
        jpegPhoto:: /wABAg==
        -
        add: mail
        mail: al@site-a.example.com
        -

        dn: cn=Bo,ou=people,dc=example,dc=com
        changetype: add
        objectClass: inetOrgPerson
        cn: Bo
        sn: B

        dn: cn=Cy,ou=people,dc=example,dc=com
        changetype: add
        objectClass: inetOrgPerson
        cn: Cy
        sn: C

        dn: cn=Bo,ou=people,dc=example,dc=com
        changetype: modrdn
        newrdn: cn=Bob
        deleteoldrdn: 1

        dn: cn=Bob,ou=people,dc=example,dc=com
        changetype: modrdn
        newrdn: cn=Bob
        deleteoldrdn: 0
        newsuperior: ou=dept,ou=people,dc=example,dc=com

        dn: cn=Out,ou=outside,dc=example,dc=com
        changetype: modrdn
        newrdn: cn=In
        deleteoldrdn: 1
        newsuperior: ou=people,dc=example,dc=com

        dn: cn=Cy,ou=people,dc=example,dc=com
        changetype: modrdn
        newrdn: cn=Cy
        deleteoldrdn: 0
        newsuperior: ou=outside,dc=example,dc=com

        dn: cn=staff,ou=people,dc=example,dc=com
        changetype: add
        objectClass: groupOfNames
        cn: staff
        member: cn=Al,ou=people,dc=example,dc=com
        member: cn=Bob,ou=dept,ou=people,dc=example,dc=com

        dn: cn=outsider,ou=outside,dc=example,dc=com
        changetype: add
        objectClass: groupOfNames
        cn: outsider
        member: cn=Cy,ou=outside,dc=example,dc=com

        """

    static let third = """
        dn: cn=staff,ou=people,dc=example,dc=com
        changetype: modify
        delete: member
        member: cn=Al,ou=people,dc=example,dc=com
        -
        add: member
        member: cn=In,ou=people,dc=example,dc=com
        -

        dn: ou=sub,ou=outside,dc=example,dc=com
        changetype: add
        objectClass: organizationalUnit
        ou: sub

        dn: cn=Deep,ou=sub,ou=outside,dc=example,dc=com
        changetype: add
        objectClass: inetOrgPerson
        cn: Deep
        sn: D

        dn: ou=sub,ou=outside,dc=example,dc=com
        changetype: modrdn
        newrdn: ou=sub
        deleteoldrdn: 0
        newsuperior: ou=people,dc=example,dc=com

        dn: ou=dept,ou=people,dc=example,dc=com
        changetype: modrdn
        newrdn: ou=dept
        deleteoldrdn: 0
        newsuperior: ou=outside,dc=example,dc=com

        dn: cn=Al,ou=people,dc=example,dc=com
        changetype: delete

        dn: cn=In,ou=people,dc=example,dc=com
        changetype: modify
        replace: description
        description: line one
        -
        add: telephoneNumber
        telephoneNumber: +1 555 0100
        telephoneNumber: +1 555 0101
        -

        """

    @Test func twoSitesStayEqualRoundAfterRound() throws {
        let sites = try Sites()
        try sites.change(Self.first)

        // A dry run shows the first (full) message and writes nothing.
        let preview = try sites.publish(["--dry-run", "--format", "json"])
        #expect(preview.status == 0, "\(preview.stderr)")
        let report = try sites.json(preview)
        let messages = report["messages"] as? [[String: Any]] ?? []
        #expect(messages.count == 1)
        #expect(messages.first?["kind"] as? String == "full")
        #expect(messages.first?["records"] as? Int == 2, "ou=people and cn=Al; not ou=outside")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: sites.outbox + "/new")) ?? [] == [])
        #expect(!FileManager.default.fileExists(atPath: sites.drop + "/new"))

        // First round: a full message.
        var published = try sites.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.stdout.isEmpty, "a quiet cron run")
        var synced = try sites.sync()
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("after the full message")

        // Nothing new: nothing sent.
        published = try sites.publish(["--format", "json"])
        #expect((try sites.json(published)["messages"] as? [Any])?.isEmpty == true)

        // Second round: UTF-8, binary and multi-valued edits, renames, a move to a new parent, a move in
        // and a move out, a group, and changes outside the subtree that are never sent.
        try sites.change(Self.second)
        published = try sites.publish(["--format", "json"])
        #expect(published.status == 0, "\(published.stderr)")
        let second = try sites.json(published)["messages"] as? [[String: Any]] ?? []
        #expect(second.map { $0["sequence"] as? Int } == [2])
        let lines = second.first?["changes"] as? [String] ?? []
        #expect(!lines.contains { $0.contains("ou=outside") }, "\(lines)")
        synced = try sites.sync()
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("after the second round")

        // Third round: a subtree moved in, one moved out, a delete, membership.
        try sites.change(Self.third)
        published = try sites.publish()
        #expect(published.status == 0, "\(published.stderr)")
        synced = try sites.sync(["--format", "json"])
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("after the third round")

        // What the publisher says of itself.
        let status = try sites.publisherStatus()
        #expect(status["lastSequence"] as? Int == 3)
        #expect(status["undelivered"] as? [Int] == [])
        #expect((status["position"] as? String)?.contains("#") == true, "an entryCSN: \(status)")
        #expect(sites.metrics().contains("bridgehead_publish_last_sequence{source=\"site-a\"} 3"), "\(sites.metrics())")
        #expect(sites.metrics().contains("bridgehead_publish_undelivered_messages{source=\"site-a\"} 0"))

        // Every message archived and delivered once, in sequence.
        let archived = try FileManager.default.contentsOfDirectory(atPath: sites.outbox + "/cur").sorted()
        #expect(archived.map { $0.prefix(16) } == ["0000000000000001", "0000000000000002", "0000000000000003"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: sites.outbox + "/new").isEmpty)

        // --resend delivers an archived message again, byte for byte; the receiver finds it a duplicate.
        let resent = try sites.publish(["--resend", "2"])
        #expect(resent.status == 0, "\(resent.stderr)")
        let again = try FileManager.default.contentsOfDirectory(atPath: sites.drop + "/new")
        #expect(again.count == 1)
        let original = try Data(contentsOf: URL(fileURLWithPath: sites.outbox + "/cur/" + archived[1]))
        #expect(try Data(contentsOf: URL(fileURLWithPath: sites.drop + "/new/" + again[0])) == original)
        synced = try sites.sync(["--format", "json"])
        #expect(synced.status == 0)
        #expect(synced.stdout.contains("\"duplicate\""), "\(synced.stdout)")
        try sites.expectEqual("after a resend")
    }

    /// A few thousand generated changes in messages of 200 records: numbered without a gap, applied in order.
    @Test func generatedChangesInManyMessages() throws {
        let sites = try Sites(maxChanges: 200)
        try sites.change("dn: ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n")
        #expect(try sites.publish().status == 0)
        var generator = SeededGenerator(seed: 11)
        var alive: [Int] = []
        var ldif = ""
        for serial in 0..<2000 {
            let roll = Int.random(in: 0..<10, using: &generator)
            if roll < 6 || alive.count < 10 {
                ldif +=
                    "dn: cn=p\(serial),ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\ncn: p\(serial)\nsn: S\n"
                    + "description: \(serial) é\n\n"
                alive.append(serial)
            } else if roll < 9 {
                let target = alive[Int.random(in: 0..<alive.count, using: &generator)]
                ldif +=
                    "dn: cn=p\(target),ou=people,dc=example,dc=com\nchangetype: modify\nreplace: description\ndescription: now \(serial)\n-\n"
                    + "add: telephoneNumber\ntelephoneNumber: +1 555 \(serial)\n-\n\n"
            } else {
                let target = alive.remove(at: Int.random(in: 0..<alive.count, using: &generator))
                ldif += "dn: cn=p\(target),ou=people,dc=example,dc=com\nchangetype: delete\n\n"
            }
        }
        try sites.change(ldif)
        let published = try sites.publish(["--format", "json"])
        #expect(published.status == 0, "\(published.stderr)")
        let messages = try sites.json(published)["messages"] as? [[String: Any]] ?? []
        #expect(messages.count == 10)
        #expect(messages.compactMap { $0["sequence"] as? Int } == Array(2...11))
        let synced = try sites.sync(["--format", "json"])
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("after 2,000 changes")
    }

    /// The sendmail transport, through a sendmail-compatible program (here a script that delivers
    /// its input into the receiver's Maildir, as a local delivery agent would): EX_TEMPFAIL keeps the
    /// message in the outbox (exit 69), and the next run delivers it first.
    @Test func sendmailTransportAndATemporaryFailure() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-sendmail-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = folder.appendingPathComponent("sendmail").path
        let sites = try Sites(transport: "transport = \"sendmail\"\nsendmail = \"\(script)\"")
        try Data(
            """
            #!/bin/sh
            # sendmail -i -f FROM -t: the message on standard input.
            [ "$1" = -i ] && [ "$2" = -f ] && [ "$3" = dra@site-a.example.com ] && [ "$4" = -t ] || { echo "usage: $*" >&2; exit 64; }
            [ -e "\(folder.path)/down" ] && { echo "queue unavailable" >&2; exit 75; }
            mkdir -p "\(sites.drop)/tmp" "\(sites.drop)/new" "\(sites.drop)/cur"
            name="$(date +%s).$$.sendmail"
            cat > "\(sites.drop)/tmp/$name" && mv "\(sites.drop)/tmp/$name" "\(sites.drop)/new/$name"

            """.utf8
        ).write(to: URL(fileURLWithPath: script))
        chmod(script, 0o755)
        try sites.change(Self.first)
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("down").path, contents: Data())
        let failed = try sites.publish()
        #expect(failed.status == 69, "\(failed.stderr)")
        #expect(failed.stderr.contains("queue unavailable"), "\(failed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sites.outbox + "/new").count == 1, "kept, undelivered")
        #expect(try sites.publisherStatus()["undelivered"] as? [Int] == [1])
        #expect(sites.metrics().contains("bridgehead_publish_undelivered_messages{source=\"site-a\"} 1"), "\(sites.metrics())")
        #expect(sites.metrics().contains("bridgehead_publish_last_run_exit_status 69"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("down"))
        try sites.change("dn: cn=Zed,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\ncn: Zed\nsn: Z\n")
        let published = try sites.publish(["--format", "json"])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(try sites.json(published)["delivered"] as? [Int] == [1, 2], "the waiting message first")
        let synced = try sites.sync()
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("after sendmail")
    }

    /// Over SMTP (a real SMTP server on 127.0.0.1 delivering into the receiver's Maildir); a server
    /// that answers 451 to the data keeps the message in the outbox (exit 69) until one takes it.
    @Test func overSMTPWithATemporaryRefusal() throws {
        let refusing = try SMTPServer(fault: "data-4xx")
        let sites = try Sites(transport: "transport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:\(refusing.port)\"")
        try sites.change(Self.first)
        let refused = try sites.publish()
        #expect(refused.status == 69, "\(refused.stderr)")
        #expect(refused.stderr.contains("451"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sites.outbox + "/new").count == 1)

        let server = try SMTPServer(maildir: sites.drop)
        let config = try String(contentsOfFile: sites.publisherConfig, encoding: .utf8)
            .replacingOccurrences(of: ":\(refusing.port)\"", with: ":\(server.port)\"")
        try Data(config.utf8).write(to: URL(fileURLWithPath: sites.publisherConfig))
        try sites.change(Self.second)
        let published = try sites.publish(["--format", "json"])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(try sites.json(published)["delivered"] as? [Int] == [1, 2])
        let synced = try sites.sync()
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("over SMTP")
    }

    /// An accesslog purged past the publisher's position (slapd's logpurge raised minCSN beyond it):
    /// what was lost cannot be sent as changes, so a full message goes instead, never a silent hole.
    @Test func aPurgedLogIsAnsweredWithAFullMessage() throws {
        let sites = try Sites(logPurge: "00:00:02 00:00:02")
        try sites.change(Self.first)
        #expect(try sites.publish().status == 0)
        #expect(try sites.sync().status == 0)
        try sites.change(Self.second)
        // Wait until slapd has purged the log past the publisher's position.
        let position = try sites.publisherStatus()["position"] as? String ?? ""
        var purged = false
        for _ in 0..<40 where !purged {
            Thread.sleep(forTimeInterval: 0.5)
            let output = try Command.run(
                "/usr/bin/ldapsearch",
                ["-LLL", "-x", "-H", sites.a.uri, "-D", sites.a.rootDN, "-y", sites.a.passwordFile, "-b", "cn=accesslog", "-s", "base", "minCSN"])
            let minCSN = output.stdout.split(separator: "\n").first { $0.hasPrefix("minCSN: ") }.map { String($0.dropFirst(8)) }
            purged = (minCSN ?? "") > position
        }
        try #require(purged, "slapd did not purge its accesslog within 20 seconds")
        let published = try sites.publish(["--format", "json"])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.stderr.contains("purged"), "the run says why: \(published.stderr)")
        let messages = try sites.json(published)["messages"] as? [[String: Any]] ?? []
        #expect(messages.map { $0["kind"] as? String } == ["full"])
        let synced = try sites.sync()
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("after a purged log")
    }

    /// A message lost on the way leaves a gap; a full message (`publish --full`) is applied across it,
    /// and the message held behind the gap is settled as superseded. The dry run foretells the same.
    @Test func aFullMessageIsAppliedAcrossAGap() throws {
        let sites = try Sites()
        try sites.change(Self.first)
        #expect(try sites.publish().status == 0)
        #expect(try sites.sync().status == 0)
        try sites.change(Self.second)
        #expect(try sites.publish().status == 0)
        // #2 is lost between the sites.
        for name in try FileManager.default.contentsOfDirectory(atPath: sites.drop + "/new") {
            try FileManager.default.removeItem(atPath: sites.drop + "/new/" + name)
        }
        try sites.change(
            "dn: cn=In,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: description\ndescription: after the gap\n-\n")
        #expect(try sites.publish().status == 0)
        let held = try sites.sync(["--format", "json"])
        #expect(held.stdout.contains("\"held\""), "#3 waits for #2: \(held.stdout.prefix(1500))")
        #expect(try sites.publish(["--full"]).status == 0)

        let dry = try sites.sync(["--dry-run", "--format", "json"])
        let real = try sites.sync(["--format", "json"])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(try sites.outcomes(real) == ["3 duplicate", "4 applied"], "\(real.stdout.prefix(2000))")
        #expect(try sites.outcomes(dry) == sites.outcomes(real), "the dry run foretells the run")
        #expect(real.stdout.contains("superseded by the full message 4"), "\(real.stdout.prefix(2000))")
        try sites.expectEqual("after a full message across a gap")
    }

    /// A full message larger than the writer's and the reader's buffers, of entries with binary
    /// values, streamed into the outbox and delivered; one entry was moved under a parent created
    /// after it (slapd returns it before its parent), and still comes after its parent. The dry run
    /// foretells the same message, and writes nothing.
    @Test func aLargeFullMessageIsStreamedParentsFirst() throws {
        let sites = try Sites()
        var ldif = "dn: ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n\n"
        ldif += "dn: cn=Mover,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\ncn: Mover\nsn: M\n\n"
        var generator = SeededGenerator(seed: 5)
        for serial in 0..<1200 {
            let photo = (0..<3000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            ldif +=
                "dn: cn=p\(serial),ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\ncn: p\(serial)\nsn: S\n"
                + "jpegPhoto:: \(Data(photo).base64EncodedString())\ndescription: \(serial) é\n\n"
        }
        ldif += "dn: ou=newer,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: organizationalUnit\nou: newer\n\n"
        ldif += "dn: cn=Mover,ou=people,dc=example,dc=com\nchangetype: modrdn\nnewrdn: cn=Mover\ndeleteoldrdn: 1\n"
        ldif += "newsuperior: ou=newer,ou=people,dc=example,dc=com\n\n"
        try sites.change(ldif)

        let dry = try sites.publish(["--dry-run", "--format", "json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: sites.outbox + "/new")) ?? []).isEmpty, "a dry run archives nothing")
        let preview = try sites.json(dry)["messages"] as? [[String: Any]] ?? []
        let changes = preview.first?["changes"] as? [String] ?? []
        #expect(preview.count == 1 && preview.first?["kind"] as? String == "full" && changes.count == 1203)
        let parentAt = changes.firstIndex(of: "entry ou=newer,ou=people,dc=example,dc=com")
        let moverAt = changes.firstIndex(of: "entry cn=Mover,ou=newer,ou=people,dc=example,dc=com")
        #expect(parentAt != nil && moverAt != nil && parentAt! < moverAt!, "the moved entry after its new parent")

        let published = try sites.publish(["--format", "json"])
        #expect(published.status == 0, "\(published.stderr)")
        let message = (try sites.json(published)["messages"] as? [[String: Any]] ?? []).first ?? [:]
        let archived = try FileManager.default.contentsOfDirectory(atPath: sites.outbox + "/cur")
        #expect(archived.count == 1)
        let size = try FileManager.default.attributesOfItem(atPath: sites.outbox + "/cur/" + archived[0])[.size] as? Int ?? 0
        #expect(size > 5_000_000, "larger than any buffer: \(size)")
        #expect(message["bytes"] as? Int == size && preview.first?["bytes"] as? Int == size, "the dry run foretold its size")
        let synced = try sites.sync()
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("after a large full message")
    }

    /// What crossed the subtree's edge and then changed again before the next publish: moved in then
    /// renamed and modified; moved in, modified and deleted; moved in and out again; moved out (with
    /// a child) and renamed outside. The receiver ends equal to the source, and the dry run of the
    /// sync foretold the run.
    @Test func movesAcrossTheEdgeFollowedByMoreChangesInOneRun() throws {
        let sites = try Sites()
        func person(_ dn: String, _ cn: String) -> String {
            "dn: \(dn)\nchangetype: add\nobjectClass: inetOrgPerson\ncn: \(cn)\nsn: S\ndescription: before\n\n"
        }
        func move(_ dn: String, _ rdn: String, to superior: String) -> String {
            "dn: \(dn)\nchangetype: modrdn\nnewrdn: \(rdn)\ndeleteoldrdn: 1\nnewsuperior: \(superior)\n\n"
        }
        let people = "ou=people,dc=example,dc=com"
        let outside = "ou=outside,dc=example,dc=com"
        try sites.change(
            "dn: \(people)\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n\n"
                + "dn: \(outside)\nchangetype: add\nobjectClass: organizationalUnit\nou: outside\n\n"
                + person("cn=One,\(outside)", "One") + person("cn=Two,\(outside)", "Two") + person("cn=Three,\(outside)", "Three")
                + "dn: ou=Four,\(people)\nchangetype: add\nobjectClass: organizationalUnit\nou: Four\n\n"
                + person("cn=Child,ou=Four,\(people)", "Child"))
        #expect(try sites.publish().status == 0)
        #expect(try sites.sync().status == 0)
        try sites.expectEqual("before the moves")

        try sites.change(
            move("cn=One,\(outside)", "cn=One", to: people)
                + "dn: cn=One,\(people)\nchangetype: modrdn\nnewrdn: cn=Uno\ndeleteoldrdn: 1\n\n"
                + "dn: cn=Uno,\(people)\nchangetype: modify\nreplace: description\ndescription: renamed after it moved in\n-\n\n"
                + move("cn=Two,\(outside)", "cn=Two", to: people)
                + "dn: cn=Two,\(people)\nchangetype: modify\nadd: telephoneNumber\ntelephoneNumber: 2\n-\n\n"
                + "dn: cn=Two,\(people)\nchangetype: delete\n\n"
                + move("cn=Three,\(outside)", "cn=Three", to: people)
                + move("cn=Three,\(people)", "cn=Three", to: outside)
                + move("ou=Four,\(people)", "ou=Four", to: outside)
                + "dn: ou=Four,\(outside)\nchangetype: modrdn\nnewrdn: ou=Vier\ndeleteoldrdn: 1\n\n")
        let published = try sites.publish()
        #expect(published.status == 0, "\(published.stderr)")
        let dry = try sites.sync(["--dry-run", "--format", "json"])
        let synced = try sites.sync(["--format", "json"])
        #expect(synced.status == 0, "\(synced.stderr) \(synced.stdout.prefix(3000))")
        let outcome = { (output: Command.Output) throws -> [String] in
            (try sites.json(output)["messages"] as? [[String: Any]] ?? []).map { "\($0["sequence"] ?? "?") \($0["outcome"] ?? "?")" }
        }
        #expect(try outcome(synced) == ["2 applied"], "\(synced.stdout.prefix(3000))")
        #expect(try outcome(dry) == outcome(synced), "the dry run foretells the run")
        try sites.expectEqual("after moves across the edge followed by more changes")
    }

    /// Files in a Maildir folder ("" for new/ of the root).
    static func files(_ maildir: String, _ folder: String = "new") -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: maildir + "/" + folder)) ?? []
    }

    /// Two messages published after the first round; the first of them lost between the sites.
    static func loseOne(_ sites: Sites) throws {
        try sites.change(Self.first)
        let first = try sites.publish()
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try sites.sync().status == 0)
        try sites.change(Self.second)
        #expect(try sites.publish().status == 0)
        for name in files(sites.drop) { try FileManager.default.removeItem(atPath: sites.drop + "/new/" + name) }
        try sites.change("dn: cn=In,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: description\ndescription: after the gap\n-\n")
        #expect(try sites.publish().status == 0)
    }

    /// A message lost between the sites: the receiver, once #3 has waited past resend_after_hours,
    /// asks site-a (signed, through its own transport) for #2, once; publish reads the request,
    /// verifies it against its [[peer]] and resends #2 from the outbox, byte for byte; the next sync
    /// applies #2 and #3. The dry runs foretell the request and the answer.
    @Test func aLostMessageIsRequestedResentAndApplied() throws {
        let sites = try Sites(requests: true)
        try Self.loseOne(sites)
        Thread.sleep(forTimeInterval: 7.5)  // past resend_after_hours = 0.002 (7.2 s)
        let dry = try sites.sync(["--dry-run", "--format", "json"])
        let asked = try sites.sync(["--format", "json"])
        #expect(asked.status == 0, "\(asked.stderr)")
        let requests = try sites.json(asked)["requests"] as? [[String: Any]] ?? []
        #expect(requests.count == 1 && requests.first?["request"] as? String == "resend 2" && requests.first?["sent"] as? Bool == true, "\(requests)")
        let foretold = try sites.json(dry)["requests"] as? [[String: Any]] ?? []
        #expect(foretold.first?["request"] as? String == "resend 2" && foretold.first?["sent"] as? Bool == false, "\(foretold)")
        #expect(Self.files(sites.requestDrop).count == 1, "one request in site-a's drop")
        let again = try sites.sync(["--format", "json"])
        #expect((try sites.json(again)["requests"] as? [[String: Any]] ?? []).isEmpty, "no second request before resend_after_hours")
        #expect(Self.files(sites.requestDrop).count == 1)
        let status = try Command.run(CLITests.binary, ["status", "--config", sites.receiverConfig])
        #expect(status.stdout.contains("last request to the source: resend 2"), "\(status.stdout)")

        let preview = try sites.publish(["--dry-run", "--format", "json"])
        #expect(preview.stdout.contains("resent 2"), "\(preview.stdout.prefix(2000))")
        #expect(Self.files(sites.requestDrop).count == 1, "a dry run moves nothing")
        let answered = try sites.publish(["--format", "json"])
        #expect(answered.status == 0, "\(answered.stderr)")
        let answers = try sites.json(answered)["requests"] as? [[String: Any]] ?? []
        #expect(answers.count == 1 && answers.first?["answer"] as? String == "resent 2", "\(answers)")
        #expect(Self.files(sites.requestDrop).isEmpty && Self.files(sites.requestDrop, ".Processed/cur").count == 1)
        let archived = try FileBytes.read(sites.outbox + "/cur/" + Self.files(sites.outbox, "cur").sorted()[1])
        let waiting = try Self.files(sites.drop).map { try FileBytes.read(sites.drop + "/new/" + $0) }
        #expect(waiting.count == 2 && waiting.contains(archived), "#2 resent byte for byte, beside the held #3")

        let synced = try sites.sync(["--format", "json"])
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try sites.outcomes(synced) == ["2 applied", "3 applied"], "\(synced.stdout.prefix(2000))")
        try sites.expectEqual("after the lost message was resent")
    }

    /// The same loss, with the outbox emptied meanwhile: the request is answered with a full message,
    /// which the receiver applies across the gap.
    @Test func aRequestForWhatTheOutboxNoLongerHoldsGetsAFullMessage() throws {
        let sites = try Sites(requests: true)
        try Self.loseOne(sites)
        for name in Self.files(sites.outbox, "cur") { try FileManager.default.removeItem(atPath: sites.outbox + "/cur/" + name) }
        Thread.sleep(forTimeInterval: 7.5)
        #expect(try sites.sync().status == 0)
        let answered = try sites.publish(["--format", "json"])
        #expect(answered.status == 0, "\(answered.stderr)")
        let report = try sites.json(answered)
        let answer = (report["requests"] as? [[String: Any]])?.first?["answer"] as? String ?? ""
        #expect(answer.hasPrefix("a full message"), "\(answer)")
        #expect((report["messages"] as? [[String: Any]] ?? []).map { $0["kind"] as? String } == ["full"])
        let synced = try sites.sync(["--format", "json"])
        #expect(synced.status == 0, "\(synced.stderr)")
        try sites.expectEqual("after a full message answered the request")
    }

    /// A request that claims to come from the peer but is signed with another key: quarantined at
    /// site-a, never answered, nothing sent.
    @Test func aForgedRequestIsQuarantinedAndNotAnswered() throws {
        let sites = try Sites(requests: true)
        try sites.change(Self.first)
        #expect(try sites.publish().status == 0)
        let before = Self.files(sites.drop).count
        try sites.deliverRequest(.resend(1...1), signer: "site-a")
        let run = try sites.publish(["--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let answers = try sites.json(run)["requests"] as? [[String: Any]] ?? []
        #expect(answers.count == 1 && answers.first?["refused"] != nil && answers.first?["answer"] == nil, "\(answers)")
        #expect(Self.files(sites.requestDrop, ".Quarantine/cur").count == 1 && Self.files(sites.requestDrop).isEmpty)
        #expect(Self.files(sites.drop).count == before, "nothing was sent")
    }

    /// `publish --watch` stays running: changes made while it runs are published at its next turn,
    /// and a request arriving wakes it at once; SIGTERM ends it cleanly.
    @Test func publishWatchPublishesAndAnswersWithoutARestart() throws {
        let sites = try Sites(requests: true)
        try sites.change(Self.first)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["publish", "--config", sites.publisherConfig, "--watch", "--interval", "2"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
            let started = Date()
            while try !condition(), Date().timeIntervalSince(started) < 30 { Thread.sleep(forTimeInterval: 0.1) }
            #expect(try condition(), "\(what) within 30 s")
        }
        try waitFor("the first (full) message") { Self.files(sites.drop).count == 1 }
        try sites.change(Self.second)
        try waitFor("the second message") { Self.files(sites.drop).count == 2 }
        #expect(try sites.sync().status == 0)
        try sites.expectEqual("published by the watcher")
        // A request for #2 (lost, say) is answered by the same process.
        try sites.deliverRequest(.resend(2...2))
        try waitFor("the resent #2") { Self.files(sites.drop).count == 1 && Self.files(sites.requestDrop, ".Processed/cur").count == 1 }
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0 && process.terminationReason == .exit, "SIGTERM ends it cleanly")
    }

    /// The lost-message repair with the receiver reading its mailbox over IMAP from a real Dovecot.
    @Test func aLostMessageIsRequestedAndResentOverIMAP() throws {
        let dovecot = try Dovecot()
        defer { dovecot.stop() }
        let sites = try Sites(requests: true, dovecot: dovecot)
        try Self.loseOne(sites)
        Thread.sleep(forTimeInterval: 7.5)
        let asked = try sites.sync(["--format", "json"])
        #expect(asked.status == 0, "\(asked.stderr)")
        #expect((try sites.json(asked)["requests"] as? [[String: Any]] ?? []).first?["sent"] as? Bool == true, "\(asked.stdout.prefix(2000))")
        let answered = try sites.publish(["--format", "json"])
        #expect(answered.status == 0, "\(answered.stderr)")
        #expect((try sites.json(answered)["requests"] as? [[String: Any]] ?? []).first?["answer"] as? String == "resent 2")
        let synced = try sites.sync(["--format", "json"])
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try sites.outcomes(synced) == ["2 applied", "3 applied"], "\(synced.stdout.prefix(2000))")
        try sites.expectEqual("after the lost message was resent, over IMAP")
    }

    /// No amplification: the same request twice in one run (two messages, same peer and range) is
    /// answered once.
    @Test func theSameRequestTwiceInOneRunIsAnsweredOnce() throws {
        let sites = try Sites(requests: true)
        try sites.change(Self.first)
        #expect(try sites.publish().status == 0)
        for _ in 0..<2 { try sites.deliverRequest(.resend(1...1)) }
        let run = try sites.publish(["--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let answers = (try sites.json(run)["requests"] as? [[String: Any]] ?? []).compactMap { $0["answer"] as? String }
        #expect(answers.sorted() == ["none: the same request was answered already in this run", "resent 1"], "\(answers)")
        #expect(Self.files(sites.drop).count == 2, "#1 and one resend of it")
        // The same signed request delivered again in a later run (a replay) is not answered again.
        let processed = try Self.files(sites.requestDrop, ".Processed/cur").map { try FileBytes.read(sites.requestDrop + "/.Processed/cur/" + $0) }
        try Maildir.deliver(processed[0], to: sites.requestDrop)
        let replayed = try sites.publish(["--format", "json"])
        let again = (try sites.json(replayed)["requests"] as? [[String: Any]] ?? []).compactMap { $0["answer"] as? String }
        #expect(again.count == 1 && again[0].hasPrefix("none: this request was answered on"), "\(again)")
        #expect(Self.files(sites.drop).count == 2, "nothing sent again")
    }
}
