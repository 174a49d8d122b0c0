import Foundation

/// Certificates and keys made with openssl at test time, in a temporary directory.
public final class TestPKI: @unchecked Sendable {
    public let directory: URL

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smime-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try makeCA("ca", subject: "/CN=Bridgehead Test CA")
        try makeCA("other-ca", subject: "/CN=Some Other CA")
        try makeSigner("rsa", ca: "ca", subject: "/CN=site-a/emailAddress=dra@site-a.example.com", key: ["-newkey", "rsa:2048"])
        try makeSigner("ec", ca: "ca", subject: "/CN=site-b", key: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        try makeSigner("stranger", ca: "other-ca", subject: "/CN=site-a", key: ["-newkey", "rsa:2048"])
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    public func openssl(_ arguments: [String], input: [UInt8]? = nil) throws -> Command.Output {
        let output = try Command.run("openssl", arguments, input: input)
        guard output.status == 0 else { throw HarnessError(message: "openssl \(arguments.joined(separator: " ")): \(output.stderr)") }
        return output
    }

    private func makeCA(_ name: String, subject: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", subject, "-keyout", path("\(name).key"),
            "-out", path("\(name).pem"), "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    private func makeSigner(_ name: String, ca: String, subject: String, key: [String]) throws {
        try openssl(["req"] + key + ["-nodes", "-subj", subject, "-keyout", path("\(name).key"), "-out", path("\(name).csr")])
        try Data("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n".utf8)
            .write(to: directory.appendingPathComponent("\(name).ext"))
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"), "-CAcreateserial",
            "-days", "3", "-extfile", path("\(name).ext"), "-out", path("\(name).pem"),
        ])
    }

    /// A whole message: `openssl cms -sign` (or `smime -sign`) of `entity`, with From/To/Subject in front.
    public func signWithOpenSSL(_ entity: [UInt8], signer: String, command: String = "cms") throws -> [UInt8] {
        let input = directory.appendingPathComponent("entity-\(UUID().uuidString.prefix(6)).txt")
        try Data(entity).write(to: input)
        var arguments = [command, "-sign", "-in", input.path, "-signer", path("\(signer).pem"), "-inkey", path("\(signer).key"), "-binary"]
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
