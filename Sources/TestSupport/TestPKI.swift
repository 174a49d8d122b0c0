import Foundation

/// Certificates and keys made with openssl at test time, in a temporary directory.
public final class TestPKI: @unchecked Sendable {
    public let directory: URL

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smime-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try makeRoot("ca", subject: "/CN=Bridgehead Test CA")
        try makeRoot("other-ca", subject: "/CN=Some Other CA")
        // Each signer carries its site's address in subjectAltName and the emailProtection purpose:
        // a source trusted through the CA accepts only a signer issued to one of its addresses.
        try issue("rsa", ca: "ca", subject: "/CN=site-a/emailAddress=dra@site-a.example.com", email: "dra@site-a.example.com")
        try issue("ec", ca: "ca", subject: "/CN=site-b", email: "dra@site-b.example.com", key: Self.ecKey)
        try issue("site-c", ca: "ca", subject: "/CN=site-c", email: "dra@site-c.example.com")
        try issue("site-d", ca: "ca", subject: "/CN=site-d", email: "dra@site-d.example.com", key: Self.ecKey)
        try issue("stranger", ca: "other-ca", subject: "/CN=site-a", email: "dra@site-a.example.com")
    }

    public static let rsaKey = ["-newkey", "rsa:2048"]
    public static let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]

    deinit { try? FileManager.default.removeItem(at: directory) }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    public func openssl(_ arguments: [String], input: [UInt8]? = nil) throws -> Command.Output {
        let output = try Command.run("openssl", arguments, input: input)
        guard output.status == 0 else { throw HarnessError(message: "openssl \(arguments.joined(separator: " ")): \(output.stderr)") }
        return output
    }

    private func makeRoot(_ name: String, subject: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", subject, "-keyout", path("\(name).key"),
            "-out", path("\(name).pem"), "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    /// A signing certificate `name`.pem (key `name`.key) issued by `ca`, with `email` in its
    /// subjectAltName and the emailProtection purpose unless `emailProtection` is false.
    public func issue(
        _ name: String, ca: String, subject: String, email: String?, emailProtection: Bool = true, key: [String] = TestPKI.rsaKey
    ) throws {
        try openssl(["req"] + key + ["-nodes", "-subj", subject, "-keyout", path("\(name).key"), "-out", path("\(name).csr")])
        var extensions = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
        if emailProtection { extensions += "extendedKeyUsage=emailProtection\n" }
        if let email { extensions += "subjectAltName=email:\(email)\n" }
        try Data(extensions.utf8).write(to: directory.appendingPathComponent("\(name).ext"))
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"), "-CAcreateserial",
            "-days", "3", "-extfile", path("\(name).ext"), "-out", path("\(name).pem"),
        ])
    }

    /// A CA certificate `name`.pem, self-signed, or issued by `issuer` (cross-signing allowed: the
    /// same subject may be issued several times under different file names).
    public func makeCA(_ name: String, subject: String, issuer: String? = nil, keyFrom: String? = nil) throws {
        guard let issuer else {
            try makeRoot(name, subject: subject)
            return
        }
        let keyArguments = keyFrom.map { ["-new", "-key", path("\($0).key")] } ?? (TestPKI.rsaKey + ["-nodes", "-keyout", path("\(name).key")])
        try openssl(["req"] + keyArguments + ["-subj", subject, "-out", path("\(name).csr")])
        try Data("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n".utf8)
            .write(to: directory.appendingPathComponent("\(name).ext"))
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(issuer).pem"), "-CAkey", path("\(issuer).key"), "-CAcreateserial",
            "-days", "3", "-extfile", path("\(name).ext"), "-out", path("\(name).pem"),
        ])
    }

    /// A whole message: `openssl cms -sign` (or `smime -sign`) of `entity`, with From/To/Subject in front.
    /// `certificates`: more certificates (files of this PKI) to carry in the signature.
    public func signWithOpenSSL(_ entity: [UInt8], signer: String, command: String = "cms", certificates: [String] = []) throws -> [UInt8] {
        let input = directory.appendingPathComponent("entity-\(UUID().uuidString.prefix(6)).txt")
        try Data(entity).write(to: input)
        var arguments = [command, "-sign", "-in", input.path, "-signer", path("\(signer).pem"), "-inkey", path("\(signer).key"), "-binary"]
        if !certificates.isEmpty {
            let bundle = directory.appendingPathComponent("bundle-\(UUID().uuidString.prefix(6)).pem")
            var pem = Data()
            for name in certificates { pem += try Data(contentsOf: URL(fileURLWithPath: path("\(name).pem"))) }
            try pem.write(to: bundle)
            arguments += ["-certfile", bundle.path]
        }
        arguments += ["-md", "sha256"]
        arguments += ["-from", "dra@site-a.example.com", "-to", "dra@site-b.example.com", "-subject", "replication"]
        return try openssl(arguments).stdoutBytes
    }
}

/// A Bridgehead entity: the signed part's headers and an LDIF body, CRLF line ends.
public let ldifEntity: [UInt8] = Array(
    """
    Content-Type: application/ldif; charset=utf-8\r
    Bridgehead-Format: 1\r
    Bridgehead-Source: site-a\r
    Bridgehead-Sequence: 7\r
    Bridgehead-Kind: delta\r
    \r
    version: 1\r
    \r
    dn: cn=Doe\\, John,ou=people,dc=example,dc=com\r
    changetype: modify\r
    replace: mail\r
    mail: jdoe@site-a.example.com\r
    -\r

    """.utf8)
