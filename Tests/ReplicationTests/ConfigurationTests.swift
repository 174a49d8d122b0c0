import Config
import Foundation
import LDAPModel
import Replication
import TestSupport
import Testing

struct ConfigurationTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../examples").standardizedFileURL

    /// The example, parsed (its files live in /etc/bridgehead on a real installation, so it is not loaded).
    static func example() throws -> Configuration {
        let path = Self.examples.appendingPathComponent("bridgehead.toml").path
        return try Configuration.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self), path: path)
    }

    @Test func readsTheExample() throws {
        let configuration = try Self.example()
        #expect(configuration.ldap.uri == "ldap://127.0.0.1:389")
        #expect(configuration.ldap.bindDN == "cn=admin,dc=example,dc=com")
        #expect(configuration.ldap.passwordFile == "/etc/bridgehead/ldap.secret")
        #expect(configuration.ldap.stateDN == "ou=bridgehead,dc=example,dc=com")
        #expect(configuration.ldap.verifyCertificate, "verification is on unless turned off")
        #expect(configuration.connectionOptions.operationTimeout == 120)
    }

    @Test func relativePathsAreTakenFromTheFile() throws {
        let configuration = try Configuration.parse(
            "[ldap]\nuri = \"ldapi:///\"\nbind_dn = \"cn=x\"\npassword_file = \"secret\"\n", path: "/etc/bridgehead/b.toml")
        #expect(configuration.ldap.passwordFile == "/etc/bridgehead/secret")
    }

    @Test(arguments: [
        ("", nil as String?, "missing [ldap]"),
        ("[ldap]\nbind_dn = \"cn=x\"\n", "ldap.uri", "missing"),
        ("[ldap]\nuri = \"http://x\"\n", "ldap.uri", "must start with"),
        ("[ldap]\nuri = \"ldap://x\"\ntimeout = \"soon\"\n", "ldap.timeout", "a number"),
        ("[ldap]\nuri = \"ldap://x\"\nstart_tls = \"yes\"\n", "ldap.start_tls", "true or false"),
        ("[ldap]\nuri = \"ldaps://x\"\nstart_tls = true\n", "ldap.start_tls", "only applies"),
        ("[ldap]\nuri = \"ldap://x\"\nbind_dn = \"cn=x\"\n", "ldap.password_file", "no password"),
        ("[ldap]\nuri = ", nil, "line 2"),
        ("ldap = 3\n", "ldap", "a table"),
        ("[ldap]\nuri = \"ldap://ldap.example.com\"\n", "ldap.uri", "in the clear"),
        // What TOMLKit's parser would crash on (found by scripts/fuzz configuration): refused first.
        ("[é]\nx = 1\n", nil, "line 1, column 2: a table name must start with"),
        ("[ldap]\nuri = \"ldapi:///\"\n[[=x]]\n", nil, "line 3, column 3: a table name"),
        ("[#]\n", nil, "a table name"),
        ("a = [1,}]\n", nil, "line 1, column 8: '}' cannot close the '[' opened on line 1"),
        ("a = [\n  [1],  # a comment\n}]\n", nil, "line 3, column 1: '}' cannot close the '['"),
        ("a = {b = [1}\n", nil, "'}' cannot close the '['"),
        ("[ldap]\nuri = \"ldapi:///\\", nil, "line 2"),  // a string ending in its escape's backslash
        ("x = 1 \u{1B}\n", nil, "line 1, column 7: U+001B may stand only inside a string"),
        ("[ldap]\nuri = \"ldap://127.0.0.1 ldap://10.0.0.1:389\"\n", "ldap.uri", "ldap:// to 10.0.0.1"),
        ("[ldap]\nuri = \"ldap:///\"\n", "ldap.uri", "the default host"),
        ("[ldap]\nuri = \"ldapi:///\"\n[agent]\nid = \"Site B\"\n", "agent.id", "[a-z0-9._-]+"),
        ("[ldap]\nuri = \"ldapi:///\"\n[agent]\nmax_deletes_per_run = 1e300\n", "agent.max_deletes_per_run", "a whole number"),
        ("[ldap]\nuri = \"ldapi:///\"\n[mail]\nmaildir = \"/m\"\nmax_message_bytes = 10\n", "mail.max_message_bytes", "at least 4096"),
    ])
    func errorsNameTheKey(_ text: String, _ key: String?, _ fragment: String) {
        do {
            _ = try Configuration.parse(text, path: "/etc/bridgehead/b.toml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.key == key)
            #expect(error.description.contains(fragment), "\(error)")
            #expect(error.description.hasPrefix("/etc/bridgehead/b.toml: "))
        }
    }

    @Test func credentialsComeFromTheFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)")
        try Data("s3cret\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let configuration = try Configuration.parse(
            "[ldap]\nuri = \"ldap://127.0.0.1\"\nbind_dn = \"cn=x\"\npassword_file = \"\(file.path)\"\n", path: "/b.toml")
        #expect(
            try configuration.credentials() == .simple(dn: "cn=x", password: Array("s3cret".utf8)), "the final newline is not part of the password")
        let external = try Configuration.parse("[ldap]\nuri = \"ldapi:///\"\nsasl_mechanism = \"EXTERNAL\"\n", path: "/b.toml")
        #expect(try external.credentials() == .sasl(mechanism: "EXTERNAL"))
        let missing = try Configuration.parse(
            "[ldap]\nuri = \"ldap://localhost:389\"\nbind_dn = \"cn=x\"\npassword_file = \"/nonexistent/secret\"\n", path: "/b.toml")
        #expect(throws: ConfigurationError.self) { try missing.credentials() }
    }

    @Test func sourcesAndResolution() throws {
        let configuration = try Self.example()
        #expect(configuration.sources.map(\.id) == ["site-a"])
        #expect(configuration.sources[0].naming == [NamingRule(from: DN("ou=SiteA,o=Org")!, to: DN("ou=site-a,dc=example,dc=com")!)])
        #expect(configuration.sources[0].maxDeletes == 500)
        #expect(configuration.resolve.attributes == ["mail", "proxyAddresses", "legacyExchangeDN"])
        let bad = "[ldap]\nuri = \"ldap://x\"\n[[source]]\nid = \"Site A\"\n"
        #expect(throws: ConfigurationError.self) { try Configuration.parse(bad, path: "/b.toml") }
        let twice = "[ldap]\nuri = \"ldap://x\"\n[[source]]\nid = \"a\"\n[[source]]\nid = \"a\"\n"
        #expect(throws: ConfigurationError.self) { try Configuration.parse(twice, path: "/b.toml") }
        let rule = "[ldap]\nuri = \"ldap://x\"\n[[source]]\nid = \"a\"\nnaming = [{ from = \"not a dn\", to = \"o=x\" }]\n"
        #expect(throws: ConfigurationError.self) { try Configuration.parse(rule, path: "/b.toml") }
    }

    @Test func plaintextToAnotherHostOnlyWhenAskedFor() throws {
        for uri in ["ldap://127.0.0.1:389", "ldap://localhost", "ldap://[::1]:1389", "ldaps://ldap.example.com", "ldapi:///"] {
            #expect(throws: Never.self) { try Configuration.parse("[ldap]\nuri = \"\(uri)\"\n", path: "/b.toml") }
        }
        #expect(throws: Never.self) { try Configuration.parse("[ldap]\nuri = \"ldap://ldap.example.com\"\nstart_tls = true\n", path: "/b.toml") }
        #expect(throws: Never.self) {
            try Configuration.parse("[ldap]\nuri = \"ldap://ldap.example.com\"\nallow_plaintext = true\n", path: "/b.toml")
        }
        let imap =
            "[ldap]\nuri = \"ldapi:///\"\n[mail]\nimap_url = \"imap://mail.example.com/INBOX\"\nimap_user = \"u\"\n"
            + "imap_password_file = \"/etc/hostname\"\nimap_allow_plaintext = true\n"
        let error = #expect(throws: ConfigurationError.self) { try Configuration.parse(imap, path: "/b.toml") }
        #expect(error?.key == "mail.imap_url")
    }

    @Test func theGuardLetsThroughWhatTOMLAllows() throws {
        let text = """
            # a comment with [é] in it
            [ldap]
            uri = "ldapi:///" # trailing [comment]
            state_dn = "ou=bridgehead,dc=example,dc=com"
            [[source]]
            id = "site-a"
            addresses = [
              "dra@site-a.example.com",  # [not a table]
              'EX:/o=Org/ou=Site Ä',
            ]
            naming = [{ from = "ou=SiteA,o=Org", to = "ou=Münster,dc=example,dc=com" }]

            """
        #expect(throws: Never.self) { try Configuration.parse(text, path: "/b.toml") }
        // A multi-line string may hold brackets at the start of a line.
        let multi = "[ldap]\nuri = \"ldapi:///\"\n[agent]\naddresses = [\"\"\"\n[é]\"\"\"]\n"
        #expect(throws: Never.self) { try Configuration.parse(multi, path: "/b.toml") }
    }

    /// `load` checks every file the configuration names, each error naming its key; `parse` reads none.
    @Test func loadChecksTheFilesItNames() throws {
        let example = Self.examples.appendingPathComponent("bridgehead.toml").path
        let missing = #expect(throws: ConfigurationError.self) { try Configuration.load(path: example) }
        #expect(missing?.key == "ldap.password_file")

        let pki = try TestPKI()
        try pki.makeCA("ca", subject: "/CN=Site A CA")
        try pki.issue("signer", ca: "ca", subject: "/CN=site-a", email: "dra@site-a.example.com")
        try Data("secret\n".utf8).write(to: URL(fileURLWithPath: pki.path("ldap.secret")))
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: pki.path("junk.pem")))
        let write = { (certificate: String, extra: String) throws -> String in
            let file = pki.path("b.toml")
            let text = """
                [ldap]
                uri = "ldapi:///"
                bind_dn = "cn=admin,dc=example,dc=com"
                password_file = "ldap.secret"
                state_dn = "ou=bridgehead,dc=example,dc=com"
                \(extra)
                [[source]]
                id = "site-a"
                addresses = ["dra@site-a.example.com"]
                certificate = "\(certificate)"

                """
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            return file
        }
        let pinned = try Configuration.load(path: try write("signer.pem", ""))
        #expect(pinned.verifiers["site-a"]?.pinned.count == 1)
        let junk = #expect(throws: ConfigurationError.self) { try Configuration.load(path: try write("junk.pem", "")) }
        #expect(junk?.key == "source[1].certificate")
        let absent = #expect(throws: ConfigurationError.self) { try Configuration.load(path: try write("absent.pem", "")) }
        #expect(absent?.key == "source[1].certificate")
        let ca = #expect(throws: ConfigurationError.self) { try Configuration.load(path: try write("signer.pem", "ca_file = \"nowhere.pem\"")) }
        #expect(ca?.key == "ldap.ca_file")
        let state = #expect(throws: ConfigurationError.self) {
            try Configuration.parse("[ldap]\nuri = \"ldapi:///\"\nstate_dn = \"not a dn\"\n", path: "/b.toml")
        }
        #expect(state?.key == "ldap.state_dn")
    }

    @Test func readsThePublisherExample() throws {
        let path = Self.examples.appendingPathComponent("publisher/publisher.toml").path
        let configuration = try Configuration.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self), path: path)
        let publish = try #require(configuration.publish)
        #expect(publish.sourceID == "site-a")
        #expect(publish.subtrees == [DN("ou=site-a,dc=example,dc=com")!])
        #expect(publish.accesslogBase == DN("cn=accesslog")!)
        #expect(publish.transport.kind == .smtp)
        #expect(publish.transport.smtpURL == "smtp://mail.example.com:587")
        #expect(publish.maxChanges == 500)
    }

    @Test(arguments: [
        ("source_id = \"Site A\"", "publish.source_id"),
        ("subtrees = []", "publish.subtrees"),
        ("subtrees = [\"not a dn\"]", "publish.subtrees"),
        ("to = [\"not an address\"]", "publish.to"),
        ("transport = \"smtp\"", "publish.smtp_url"),
        ("transport = \"carrier-pigeon\"", "publish.transport"),
        ("transport = \"maildir\"", "publish.deliver_maildir"),
        ("max_changes = 0", "publish.max_changes"),
    ])
    func publishErrorsNameTheKey(_ line: String, _ key: String) throws {
        var lines = [
            "source_id = \"site-a\"", "subtrees = [\"ou=site-a,dc=example,dc=com\"]", "from = \"dra@site-a.example.com\"",
            "to = [\"dra@site-b.example.com\"]", "sign_cert = \"a.pem\"", "sign_key = \"a.key\"", "outbox = \"Outbox\"",
            "transport = \"sendmail\"",
        ]
        let name = line.split(separator: " ").first.map(String.init) ?? ""
        lines.removeAll { $0.hasPrefix(name + " ") }
        lines.append(line)
        let text = "[ldap]\nuri = \"ldapi:///\"\n[publish]\n" + lines.joined(separator: "\n") + "\n"
        let error = #expect(throws: ConfigurationError.self) { try Configuration.parse(text, path: "/p.toml") }
        #expect(error?.key == key, "\(error?.description ?? "")")
    }

    /// `[agent]`'s request keys and `[[peer]]`: what each needs, and errors that name the key.
    @Test(arguments: [
        ("[agent]\nid = \"site-b\"\naddresses = [\"dra@site-b.example.com\"]\nsign_cert = \"b.pem\"\ntransport = \"sendmail\"\n", "agent.sign_key"),
        ("[agent]\naddresses = [\"dra@site-b.example.com\"]\nsign_cert = \"b.pem\"\nsign_key = \"b.key\"\n", "agent.id"),
        ("[agent]\nid = \"site-b\"\nsign_cert = \"b.pem\"\nsign_key = \"b.key\"\n", "agent.addresses"),
        ("[agent]\nid = \"site-b\"\naddresses = [\"dra@site-b.example.com\"]\nsign_cert = \"b.pem\"\nsign_key = \"b.key\"\n", "agent.smtp_url"),
        (
            "[agent]\nid = \"site-b\"\naddresses = [\"dra@site-b.example.com\"]\nsign_cert = \"b.pem\"\nsign_key = \"b.key\"\ntransport = \"maildir\"\n",
            "agent.deliver_maildir"
        ),
        ("[agent]\nsign_key = \"b.key\"\n", "agent.sign_cert"),
        ("[[peer]]\nid = \"Site B\"\n", "peer[1].id"),
        ("[[peer]]\nid = \"site-b\"\naddresses = [\"dra@site-b.example.com\"]\n", "peer[1].certificate"),
        ("[[peer]]\nid = \"site-b\"\ncertificate = \"b.pem\"\naddresses = [\"X400:c=US;a= ;p=Org;o=B;s=Dra;\"]\n", "peer[1].addresses"),
    ])
    func requestAndPeerErrorsNameTheKey(_ section: String, _ key: String) throws {
        let error = #expect(throws: ConfigurationError.self) { try Configuration.parse("[ldap]\nuri = \"ldapi:///\"\n" + section, path: "/r.toml") }
        #expect(error?.key == key, "\(error?.description ?? "")")
    }

    @Test func requestsAndPeersAreRead() throws {
        let text = """
            [ldap]
            uri = "ldapi:///"
            [agent]
            id = "site-b"
            addresses = ["EX:/o=Org/ou=B/cn=Recipients/cn=dra", "dra@site-b.example.com"]
            sign_cert = "b.pem"
            sign_key = "b.key"
            resend_after_hours = 2
            transport = "sendmail"
            [[peer]]
            id = "site-c"
            addresses = ["DRA@site-c.example.com"]
            certificate = "c.pem"

            """
        let configuration = try Configuration.parse(text, path: "/etc/bridgehead/r.toml")
        let requests = try #require(configuration.requests)
        #expect(requests.from == "dra@site-b.example.com" && requests.resendAfter == 7200 && requests.transport.kind == .sendmail)
        #expect(requests.signCertificate == "/etc/bridgehead/b.pem")
        #expect(configuration.peers.map(\.id) == ["site-c"] && configuration.peers.first?.mailAddresses == ["dra@site-c.example.com"])
        #expect(try Configuration.parse("[ldap]\nuri = \"ldapi:///\"\n", path: "/x.toml").requests == nil, "off unless sign_cert is set")
    }

    /// bridgehead.toml(5) describes every key the parser reads (found in the parser's source), so
    /// that a new key cannot go undocumented.
    @Test func theManualPageDescribesEveryKey() throws {
        let root = Self.examples.deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("man/bridgehead.toml.5"), encoding: .utf8)
        let folder = root.appendingPathComponent("Sources/Config")
        var keys: Set<String> = []
        let pattern = try Regex(#"\.(?:string|strings|path|double|integer|bool|table|tables)\("([a-z_]+)"\)|(?:required|requiredPath)\("([a-z_]+)""#)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for match in text.matches(of: pattern) {
                for index in 1..<match.output.count {
                    if let key = match.output[index].substring { keys.insert(String(key)) }
                }
            }
        }
        #expect(keys.count > 50, "the parser's keys were found: \(keys.sorted())")
        let sections: Set<String> = ["ldap", "resolve", "mail", "agent", "source", "publish", "peer"]
        for key in keys.sorted() {
            let documented = sections.contains(key) ? page.contains("[\(key)]") : page.contains("Li \(key)")
            #expect(documented, "\(key) is described in man/bridgehead.toml.5")
        }
    }
}
