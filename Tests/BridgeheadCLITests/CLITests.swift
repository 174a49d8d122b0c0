import Foundation
import LDIF
import TestSupport
import Testing

/// The built `bridgehead` executable, run as a user would run it.
@Suite(.serialized, .ownThread) struct CLITests {
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("bridgehead").path
    static let root = Slapd.repositoryRoot

    private func run(_ arguments: [String], input: [UInt8]? = nil) throws -> Command.Output {
        try Command.run(Self.binary, arguments, input: input)
    }

    private func path(_ relative: String) -> String { Self.root.appendingPathComponent(relative).path }

    @Test func ldifCheckIsSilentOnValidInput() throws {
        let output = try run(["ldif", "--check", path("examples/directory.ldif"), path("examples/changes.ldif")])
        #expect(output.status == 0)
        #expect(output.stdout.isEmpty && output.stderr.isEmpty)
    }

    @Test func ldifErrorsGiveFileLineColumnAndExit65() throws {
        let file = path("Tests/LDIFTests/Fixtures/malformed/30-modrdn-deleteoldrdn-2.ldif")
        let output = try run(["ldif", "--check", file])
        #expect(output.status == 65)
        #expect(output.stderr.contains("\(file):5:15: deleteoldrdn must be 0 or 1"), "\(output.stderr)")
    }

    @Test func canonicalOutputReadsBackTheSame() throws {
        let corpus = path("Tests/LDAPClientTests/Fixtures/oracle-corpus.ldif")
        let output = try run(["ldif", corpus])
        #expect(output.status == 0)
        let original = try LDIFReader.records(in: [UInt8](try Data(contentsOf: URL(fileURLWithPath: corpus))))
        #expect(try LDIFReader.records(in: output.stdoutBytes) == original)
        #expect(output.stdout.split(separator: "\n").allSatisfy { $0.utf8.count <= 76 })
        let piped = try run(["ldif", "-"], input: output.stdoutBytes)
        #expect(piped.stdout == output.stdout, "canonical form is a fixed point")
    }

    @Test func usageErrorsExit64() throws {
        #expect(try run(["ldif"]).status == 64)
        #expect(try run(["frobnicate"]).status == 64)
        let help = try run(["help", "ldif"])
        #expect(help.status == 0 && help.stdout.contains("FILE:LINE:COLUMN"))
    }

    @Test func applyExitCodes() throws {
        let slapd = try Slapd()
        // The configuration lives apart from the server's directory, which stop() removes.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(slapd.rootPassword.utf8).write(to: folder.appendingPathComponent("ldap.secret"))
        let config = folder.appendingPathComponent("bridgehead.toml").path

        try Data("[ldap]\nuri = \"\(slapd.uri)\"\nbind_dn = \"\(slapd.rootDN)\"\npassword_file = \"ldap.secret\"\n".utf8).write(
            to: URL(fileURLWithPath: config))

        // A password file others may read is worth a warning on every run.
        chmod(folder.appendingPathComponent("ldap.secret").path, 0o644)
        let warned = try run(["apply", "--config", config, "/nonexistent.ldif"])
        #expect(warned.stderr.contains("may be read by other users") && warned.stderr.contains("chmod 600"), "\(warned.stderr)")
        chmod(folder.appendingPathComponent("ldap.secret").path, 0o600)

        let applied = try run(["apply", "--config", config, path("examples/directory.ldif")])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.isEmpty && applied.stderr.isEmpty, "silent on success")
        #expect(try slapd.dump().contains("dn: cn=directory admins,ou=groups,dc=example,dc=com"))

        let again = try run(["apply", "--config", config, path("examples/directory.ldif")])
        #expect(again.status == 65)
        #expect(again.stderr.contains("entryAlreadyExists (68)"))

        let noConfig = try run(["apply", "--config", "/nonexistent/bridgehead.toml", path("examples/directory.ldif")])
        #expect(noConfig.status == 78)
        #expect(noConfig.stderr.contains("/nonexistent/bridgehead.toml"))

        slapd.stop()
        let down = try run(["apply", "--config", config, path("examples/changes.ldif")])
        #expect(down.status == 69, "\(down.stderr)")
    }
}

/// `bridgehead compose` and `bridgehead decode`, with certificates made by openssl.
@Suite(.serialized, .ownThread) struct MessageCommandTests {
    let pki: TestPKI
    init() throws { pki = try TestPKI() }

    private func run(_ arguments: [String], input: [UInt8]? = nil) throws -> Command.Output {
        try Command.run(CLITests.binary, arguments, input: input)
    }

    private var changes: String { CLITests.root.appendingPathComponent("examples/changes.ldif").path }

    @Test(arguments: ["rsa", "ec"])
    func composedMessagesDecodeAndPassOpenSSL(_ signer: String) throws {
        let composed = try run([
            "compose", "--source", "site-a", "--sequence", "12", "--from", "dra@site-a.example.com", "--to", "dra@site-b.example.com",
            "--sign-cert", pki.path("\(signer).pem"), "--sign-key", pki.path("\(signer).key"), changes,
        ])
        #expect(composed.status == 0, "\(composed.stderr)")
        let file = pki.directory.appendingPathComponent("12-\(signer).eml").path
        try Data(composed.stdoutBytes).write(to: URL(fileURLWithPath: file))
        #expect(try pki.openssl(["cms", "-verify", "-in", file, "-CAfile", pki.path("ca.pem"), "-out", "/dev/null"]).status == 0)

        let decoded = try run(["decode", "--trust", pki.path("ca.pem"), "--format", "json", file])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(decoded.stdoutBytes)) as? [String: Any])
        #expect(json["source"] as? String == "site-a")
        #expect(json["sequence"] as? Int == 12)
        #expect(json["kind"] as? String == "delta")
        #expect(json["records"] as? Int == 4)
        let ldif = try run(["decode", "--trust", pki.path("ca.pem"), "--format", "ldif", file])
        let original = try LDIFReader.records(in: [UInt8](try Data(contentsOf: URL(fileURLWithPath: changes))))
        #expect(try LDIFReader.records(in: ldif.stdoutBytes) == original, "the LDIF survives compose and decode unchanged")
    }

    @Test func opensslSignedReplicationMessageDecodes() throws {
        let message = try pki.signWithOpenSSL(ldifEntity, signer: "rsa")
        let decoded = try run(["decode", "--trust", pki.path("ca.pem"), "-"], input: message)
        #expect(decoded.status == 0, "\(decoded.stderr)")
        #expect(decoded.stdout.contains("sequence:   7"))
        #expect(decoded.stdout.contains("CN=site-a"))
    }

    /// A message file of 16 MiB or more is verified and shown without being held (streamed); what
    /// is printed is byte for byte what the same message read whole (from standard input) gives, in
    /// every format, and a tampered one is refused alike.
    @Test func aLargeMessageFileIsShownAsTheHeldOneIs() throws {
        var ldif = "version: 1\r\n"
        let photo = Data((0..<3_000).map { UInt8(truncatingIfNeeded: $0 * 7) }).base64EncodedString()
        for n in 1...5_200 {
            ldif +=
                "\r\ndn: cn=person\(n),ou=people,dc=example,dc=com\r\nchangetype: add\r\nobjectClass: inetOrgPerson\r\n"
                + "cn: person\(n)\r\nsn: Person \(n)\r\njpegPhoto:: \(photo)\r\n"
        }
        let entity = String(decoding: ldifEntity, as: UTF8.self)
        let header = String(entity[..<entity.range(of: "\r\n\r\n")!.upperBound])
        let message = try pki.signWithOpenSSL(Array((header + ldif).utf8), signer: "rsa")
        #expect(message.count > 16 << 20, "\(message.count) bytes: not large enough to be streamed")
        let file = pki.directory.appendingPathComponent("large.eml").path
        try Data(message).write(to: URL(fileURLWithPath: file))
        for format in ["text", "ldif", "json"] {
            let streamed = try run(["decode", "--trust", pki.path("ca.pem"), "--format", format, file])
            let held = try run(["decode", "--trust", pki.path("ca.pem"), "--format", format, "-"], input: message)
            #expect(streamed.status == 0 && held.status == 0, "\(streamed.stderr) \(held.stderr)")
            #expect(streamed.stdoutBytes == held.stdoutBytes, "\(format): the streamed output differs from the held one")
        }
        var tampered = message
        tampered[message.count / 2] ^= 0x01
        try Data(tampered).write(to: URL(fileURLWithPath: file))
        let refused = try run(["decode", "--trust", pki.path("ca.pem"), file])
        #expect(refused.status == 65 && refused.stdout.isEmpty, "\(refused.stderr)")
    }

    @Test func invalidMessagesExit65WithTheirReason() throws {
        let good = try pki.signWithOpenSSL(ldifEntity, signer: "stranger")
        let untrusted = try run(["decode", "--trust", pki.path("ca.pem"), "-"], input: good)
        #expect(untrusted.status == 65 && untrusted.stderr.contains("not trusted"), "\(untrusted.stderr)")
        let noTrust = try run(["decode", "-"], input: good)
        #expect(noTrust.status == 65 && noTrust.stderr.contains("--trust"))

        let unsigned = try run(["compose", "--source", "site-a", "--sequence", "1", "--from", "a@b", "--to", "c@d", changes])
        let refused = try run(["decode", "--trust", pki.path("ca.pem"), "-"], input: unsigned.stdoutBytes)
        #expect(refused.status == 65 && refused.stderr.contains("not an S/MIME signed message"))

        let noSequence = Array(String(decoding: ldifEntity, as: UTF8.self).replacingOccurrences(of: "Bridgehead-Sequence: 7\r\n", with: "").utf8)
        let missing = try run(["decode", "--trust", pki.path("ca.pem"), "-"], input: try pki.signWithOpenSSL(noSequence, signer: "rsa"))
        #expect(missing.status == 65 && missing.stderr.contains("Bridgehead-Sequence"), "\(missing.stderr)")

        let wrongKind = try run([
            "compose", "--source", "site-a", "--sequence", "1", "--kind", "full", "--from", "a@b", "--to", "c@d", changes,
        ])
        #expect(wrongKind.status == 65 && wrongKind.stderr.contains("content records only"))
        #expect(try run(["compose", "--source", "Site A", "--sequence", "1", "--from", "a@b", "--to", "c@d", changes]).status == 64)
    }
}

/// `bridgehead address`, offline.
@Suite(.ownThread) struct AddressCommandTests {
    private func run(_ arguments: [String]) throws -> Command.Output { try Command.run(CLITests.binary, arguments) }

    @Test func jsonReport() throws {
        let output = try run([
            "address", "--format", "json", "MSXCHNGE:/o=Org/ou=Site/cn=Recipients/cn=jdoe",
            "IMCEAEX-_o=Org_ou=Site_cn=Recipients_cn=jdoe@gw.example.com", "FAX:+1 555 0100",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(output.stdoutBytes)) as? [[String: Any]])
        #expect(reports.count == 3)
        #expect(reports[0]["type"] as? String == "EX")
        #expect(reports[0]["address"] as? String == "/o=Org/ou=Site/cn=Recipients/cn=jdoe")
        #expect(reports[0]["canonical"] as? String == reports[1]["canonical"] as? String)
        #expect(reports[1]["imceaDomain"] as? String == "gw.example.com")
        #expect(reports[2]["type"] as? String == "FAX" && reports[2]["unknown"] as? Bool == true)
    }

    @Test func malformedExits65WithTheReason() throws {
        let output = try run(["address", "SMTP:jdoe@example.com", "X400:c=US;a= ;g=ABCDEFGHIJKLMNOPQRS;"])
        #expect(output.status == 65)
        #expect(output.stdout.contains("SMTP:jdoe@example.com"), "the good one is still shown")
        #expect(output.stderr.contains("'g'") && output.stderr.contains("16"), "\(output.stderr)")
    }
}

/// `bridgehead resolve`, against a real slapd.
@Suite(.ownThread) struct ResolveCommandTests {
    @Test func resolvesAndExplains() throws {
        let slapd = try Slapd(seedLDIF: Slapd.recipients)
        let config = slapd.directory.appendingPathComponent("bridgehead.toml").path
        try Data(
            """
            [ldap]
            uri = "\(slapd.uri)"
            bind_dn = "\(slapd.rootDN)"
            password_file = "rootpw"

            [[source]]
            id = "site-a"
            naming = [{ from = "ou=SiteA,o=Org", to = "ou=people,dc=example,dc=com" }]

            """.utf8
        ).write(to: URL(fileURLWithPath: config))
        let run = { (arguments: [String]) throws -> Command.Output in try Command.run(CLITests.binary, ["resolve", "--config", config] + arguments) }

        let found = try run(["--format", "json", "MSXCHNGE:/o=Org/ou=SiteB/cn=Recipients/cn=jdoe", "jdoe@site-b.example.com"])
        #expect(found.status == 0, "\(found.stderr)")
        let lines = try #require(try JSONSerialization.jsonObject(with: Data(found.stdoutBytes)) as? [[String: Any]])
        #expect(lines.map { $0["dn"] as? String } == ["cn=John Doe,ou=people,dc=example,dc=com", "cn=John Doe,ou=people,dc=example,dc=com"])

        let ruled = try run(["--source", "site-a", "cn=John Doe,ou=SiteA,o=Org"])
        #expect(ruled.status == 0 && ruled.stdout.contains("resolved: cn=John Doe,ou=people,dc=example,dc=com (by naming rule"))

        let missing = try run(["SMTP:nobody@site-b.example.com"])
        #expect(missing.status == 1 && missing.stdout.contains("not found"))
        #expect(try run(["--source", "nowhere", "a@b.example"]).status == 78)
        #expect(try run(["no address here"]).status == 65)
    }
}
